//! `gpt-image-panel [serve|healthcheck|openapi|env-example|settings-table|migrate]`.
// Unsafe only in `allocator`, for one libc call.
#![deny(unsafe_code)]

mod allocator;

use std::process::ExitCode;

use gpt_image_panel::settings::{Config, EnvSnapshot, RawSettings, render_env_example, render_settings_table};
use gpt_image_panel::{Application, api, healthcheck, outbound, telemetry};

const USAGE: &str = "usage: gpt-image-panel [serve|healthcheck|openapi|env-example|settings-table|migrate]
  serve        run the panel (default)
  healthcheck  ask the running panel's /health (HOST, PORT); exit 0 only when it answers 200
  openapi      print the OpenAPI document
  env-example  print .env.example generated from the settings table
  settings-table  print the README's Markdown table of every setting
  migrate      apply pending database migrations and exit";

fn main() -> ExitCode {
    allocator::tune();
    let command = std::env::args().nth(1);
    match command.as_deref() {
        None | Some("serve") => run(false),
        Some("migrate") => run(true),
        Some("healthcheck") => healthcheck(),
        Some("openapi") => {
            print!("{}", api::spec_json());
            ExitCode::SUCCESS
        }
        Some("env-example") => {
            print!("{}", render_env_example());
            ExitCode::SUCCESS
        }
        Some("settings-table") => {
            print!("{}", render_settings_table());
            ExitCode::SUCCESS
        }
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("unknown command {other:?}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn healthcheck() -> ExitCode {
    let env = match std::env::current_dir().map_err(anyhow::Error::from).and_then(|dir| EnvSnapshot::from_process(&dir))
    {
        Ok(env) => env,
        Err(err) => return fail(&format!("cannot read the environment: {err:#}")),
    };
    let config = match Config::from_raw(&RawSettings::resolve(&env, &Default::default())) {
        Ok(config) => config,
        Err(err) => return fail(&format!("invalid setting {err}")),
    };
    match healthcheck::local_address(&config).and_then(healthcheck::probe) {
        Ok(body) => {
            println!("{body}");
            ExitCode::SUCCESS
        }
        Err(reason) => fail(&format!("unhealthy: {reason}")),
    }
}

fn run(migrate_only: bool) -> ExitCode {
    let env = match std::env::current_dir().map_err(anyhow::Error::from).and_then(|dir| EnvSnapshot::from_process(&dir))
    {
        Ok(env) => env,
        Err(err) => return fail(&format!("cannot read the environment: {err:#}")),
    };
    let boot = match Config::from_raw(&RawSettings::resolve(&env, &Default::default())) {
        Ok(config) => config,
        Err(err) => return fail(&format!("invalid setting {err}")),
    };
    outbound::install_crypto_provider();
    let telemetry = match telemetry::init(&boot.log_level, boot.otlp_endpoint.as_deref()) {
        Ok(telemetry) => telemetry,
        Err(err) => return fail(&format!("invalid setting OTEL_EXPORTER_OTLP_ENDPOINT: {err}")),
    };
    let runtime =
        match tokio::runtime::Builder::new_multi_thread().worker_threads(boot.runtime_threads).enable_all().build() {
            Ok(runtime) => runtime,
            Err(err) => return fail(&format!("cannot start the async runtime: {err}")),
        };
    let result = runtime.block_on(async move {
        let app = Application::build(env).await?;
        if migrate_only {
            println!("database is up to date");
            return Ok(());
        }
        app.run_until_stopped(shutdown_signal()).await?;
        anyhow::Ok(())
    });
    drop(runtime);
    telemetry.shutdown();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => fail(&format!("{err:#}")),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("gpt-image-panel: {message}");
    ExitCode::FAILURE
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
