//! The broadcaster owns the live-update topics (`job:<id>`, `jobs`, `export:<id>`, `import:<id>`,
//! `sync:<id>`, …). Publishers cast events; SSE handlers subscribe and get a channel receiver, so a
//! slow client never blocks a publisher (it lags and is told so instead).

use std::collections::HashMap;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::sync::broadcast;

/// One live event: the SSE event name and its JSON data.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveEvent {
    pub name: String,
    pub data: serde_json::Value,
}

pub enum BroadcasterMsg {
    Publish {
        topic: String,
        event: LiveEvent,
    },
    Subscribe {
        topic: String,
        reply: RpcReplyPort<broadcast::Receiver<LiveEvent>>,
    },
    SubscriberCount {
        topic: String,
        reply: RpcReplyPort<usize>,
    },
    /// Fails the actor on purpose, so supervision can be exercised.
    #[cfg(test)]
    Crash,
}

/// Events buffered per subscriber before it is considered lagging.
const TOPIC_CAPACITY: usize = 256;

#[derive(Default)]
pub struct BroadcasterState {
    topics: HashMap<String, broadcast::Sender<LiveEvent>>,
}

pub struct Broadcaster;

impl Actor for Broadcaster {
    type Msg = BroadcasterMsg;
    type State = BroadcasterState;
    type Arguments = ();

    async fn pre_start(&self, _myself: ActorRef<Self::Msg>, _args: ()) -> Result<Self::State, ActorProcessingErr> {
        Ok(BroadcasterState::default())
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            BroadcasterMsg::Publish { topic, event } => {
                // A topic nobody listens to any more is forgotten.
                if let Some(sender) = state.topics.get(&topic)
                    && sender.send(event).is_err()
                {
                    state.topics.remove(&topic);
                }
            }
            BroadcasterMsg::Subscribe { topic, reply } => {
                let sender = state.topics.entry(topic).or_insert_with(|| broadcast::channel(TOPIC_CAPACITY).0);
                let _ = reply.send(sender.subscribe());
            }
            BroadcasterMsg::SubscriberCount { topic, reply } => {
                let count = state.topics.get(&topic).map_or(0, broadcast::Sender::receiver_count);
                let _ = reply.send(count);
            }
            #[cfg(test)]
            BroadcasterMsg::Crash => return Err("crash requested".into()),
        }
        Ok(())
    }
}
