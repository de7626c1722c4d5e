//! moto, the AWS API emulator, on loopback for the AWS backends' tests.

use super::{closed_port, require, wait_until};
use std::process::{Child, Command, Stdio};

/// moto's server on a port picked now, killed on drop (its request recorder's file with it).
pub struct Moto {
    child: Child,
    pub endpoint: String,
    pub recording: std::path::PathBuf,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.recording);
    }
}

pub fn moto() -> Moto {
    let port = closed_port();
    // moto's request recorder writes its file in the working directory unless told.
    let recording = std::env::temp_dir().join(format!("cutover-moto-recording-{port}"));
    let child = Command::new("python3")
        .env("MOTO_RECORDER_FILEPATH", &recording)
        .current_dir(std::env::temp_dir())
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server starts");
    wait_until(60, "moto_server", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
        recording,
    }
}

/// moto's server module, run by python3; SKIPPED (or a failure under
/// CUTOVER_PEERS=required) when it is not installed.
pub fn peers() -> bool {
    if !require("python3") {
        return false;
    }
    let ok = Command::new("python3")
        .args(["-c", "import moto.server, boto3"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("CUTOVER_PEERS").as_deref() != Ok("required"),
            "moto[server] is required (CUTOVER_PEERS=required) but not installed"
        );
        eprintln!("SKIPPED: python3 cannot import moto.server (pip install 'moto[server]')");
    }
    ok
}
