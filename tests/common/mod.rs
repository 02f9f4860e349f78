//! Real local services for end-to-end tests: a moto server (S3, SNS, SQS over HTTP) and
//! `cargo lambda watch` (the Lambda Runtime API emulator). Each binds 127.0.0.1 on a
//! free port chosen at run time and is stopped (its whole process group) on drop.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn wait_for_port(port: u16, child: &mut Child, what: &str, log: &Path, limit: Duration) {
    let start = Instant::now();
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{what} exited ({status}) before listening on {port}:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        assert!(
            start.elapsed() < limit,
            "{what} did not listen on 127.0.0.1:{port} within {limit:?}:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A child process in its own process group; drop stops the group.
pub struct Service {
    child: Child,
    pub port: u16,
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Service {
    fn spawn(
        mut cmd: Command,
        port: u16,
        what: &str,
        dir: tempfile::TempDir,
        limit: Duration,
    ) -> Service {
        let log = dir.path().join("service.log");
        let out = std::fs::File::create(&log).expect("log file");
        cmd.stdout(out.try_clone().expect("dup log"))
            .stderr(out)
            .stdin(Stdio::null())
            .process_group(0);
        let mut child = cmd.spawn().unwrap_or_else(|e| {
            panic!("cannot start {what}: {e} (run the README's set-up command)")
        });
        wait_for_port(port, &mut child, what, &log, limit);
        Service {
            child,
            port,
            log,
            _dir: dir,
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let pgid = self.child.id();
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{pgid}")])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .status();
        let _ = self.child.wait();
    }
}

pub struct Moto {
    pub service: Service,
}

impl Moto {
    pub fn start() -> Moto {
        let port = free_port();
        let mut cmd = Command::new("moto_server");
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        let dir = tempfile::tempdir().expect("tempdir");
        Moto {
            service: Service::spawn(cmd, port, "moto_server", dir, Duration::from_secs(60)),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.service.port)
    }

    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .load()
            .await
    }

    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::config::Builder::from(&self.sdk_config().await)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }
}

/// The real `cargo lambda watch` Runtime API emulator, with this package's binary (the one
/// `cargo test` built) attached to it as the function. `--only-lambda-apis` keeps the
/// emulator from rebuilding the package inside the test run.
pub struct LambdaWatch {
    pub service: Service,
    function: Option<std::process::Child>,
    function_log: PathBuf,
}

impl LambdaWatch {
    pub fn start(env: &[(&str, String)]) -> LambdaWatch {
        let port = free_port();
        let dir = tempfile::tempdir().expect("tempdir");
        let function_log = dir.path().join("function.log");
        let mut cmd = Command::new("cargo");
        cmd.current_dir(manifest_dir()).args([
            "lambda",
            "watch",
            "--only-lambda-apis",
            "-A",
            "127.0.0.1",
            "-P",
            &port.to_string(),
        ]);
        let service = Service::spawn(
            cmd,
            port,
            "cargo lambda watch",
            dir,
            Duration::from_secs(120),
        );
        let out = std::fs::File::create(&function_log).expect("function log");
        let function = Command::new(env!("CARGO_BIN_EXE_eks-audit-watch"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            // What `cargo lambda watch --only-lambda-apis` asks the function to be given.
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{port}/.rt"),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", "_")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(out.try_clone().expect("dup log"))
            .stderr(out)
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("the function binary starts");
        LambdaWatch {
            service,
            function: Some(function),
            function_log,
        }
    }

    /// The emulator's log and the function's log (its JSON log lines).
    pub fn log_text(&self) -> String {
        format!(
            "--- cargo lambda watch ---\n{}\n--- function ---\n{}",
            self.service.log_text(),
            std::fs::read_to_string(&self.function_log).unwrap_or_default()
        )
    }

    /// `cargo lambda invoke --data-file`; returns (success, stdout, stderr).
    pub fn invoke(&self, data_file: &Path) -> (bool, String, String) {
        let out = Command::new("cargo")
            .current_dir(manifest_dir())
            .args([
                "lambda",
                "invoke",
                "-A",
                "127.0.0.1",
                "-P",
                &self.service.port.to_string(),
                "--data-file",
                data_file.to_str().expect("utf-8 path"),
                // The attached function's name, as `--only-lambda-apis` registers it.
                "_",
            ])
            .output()
            .expect("cargo lambda invoke runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Drop for LambdaWatch {
    fn drop(&mut self) {
        if let Some(mut child) = self.function.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
