//! AVIF and HEIC are decoded by Debian's `heif-convert` (libheif-examples) in a subprocess with a
//! cleared environment and a time limit, so a hostile file never runs inside the panel.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const TIME_LIMIT: Duration = Duration::from_secs(30);

/// The `heif-convert` tool, when installed.
pub fn tool() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join("heif-convert")).find(|candidate| candidate.is_file())
}

/// Renders `input` as a PNG at `output`; false when the tool is missing, fails or runs too long.
/// Blocking: call it from a blocking task.
pub fn render_png(input: &Path, output: &Path) -> bool {
    let Some(tool) = tool() else { return false };
    let child = Command::new(tool)
        .arg(input)
        .arg(output)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else { return false };
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.success() && output.is_file(),
            Ok(None) if started.elapsed() < TIME_LIMIT => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
        }
    }
}
