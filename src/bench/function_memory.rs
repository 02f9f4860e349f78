//! Peak memory of the Lambda function itself: this binary in its Lambda mode, handed the
//! largest payload again and again by a tiny Runtime API, archiving to and alerting through
//! a moto server (S3 and SNS over HTTP) — everything the deployed function holds, the
//! runtime's copy of the invoke body and the SDK's buffers included, which the
//! pipeline-only probe does not see.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// VmHWM of the function after its first invocation and after the last.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FunctionMemory {
    pub after_one_mb: f64,
    pub after_all_mb: f64,
    pub invocations: usize,
}

/// Why the probe could not measure: the bench prints it in place of a figure.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("cannot start moto_server ({0}); `make setup` installs it")]
    MotoMissing(String),
    #[error("moto_server: {0}")]
    Moto(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("the function {0}")]
    Function(String),
}

const BUCKET: &str = "bench-archive";
/// How long one step (moto starting, an invocation) may take before the probe gives up.
const STEP_LIMIT: Duration = Duration::from_secs(120);

/// Runs `exe` as the Lambda function for `invocations` deliveries of `payload` (the JSON
/// Lambda would send) and reads its peak RSS from `/proc` while it waits for the next one.
pub fn probe(exe: &Path, payload: &[u8], invocations: usize) -> Result<FunctionMemory, ProbeError> {
    let moto = Moto::start()?;
    moto.create_bucket(BUCKET)?;
    let topic_arn = moto.create_topic("bench-alerts")?;

    let runtime = TcpListener::bind("127.0.0.1:0")?;
    runtime.set_nonblocking(true)?;
    let function =
        super::as_lambda_function(&mut Command::new(exe), &runtime.local_addr()?.to_string())
            .env("AWS_ENDPOINT_URL", moto.endpoint())
            .env("ARCHIVE_BUCKET", BUCKET)
            .env("ALERT_TOPIC_ARN", &topic_arn)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
    let mut function = Killed(function);

    let mut after_one = None;
    for done in 0..=invocations {
        let (mut conn, request) = accept_request(&runtime, &mut function.0)?;
        if !request
            .line
            .starts_with("GET /2018-06-01/runtime/invocation/next")
        {
            return Err(ProbeError::Function(format!(
                "sent {:?} where /next was expected",
                request.line
            )));
        }
        // Waiting for its next event: what it holds now is what the invocations left.
        if done == 1 {
            after_one = Some(vm_hwm_mb(function.0.id())?);
        }
        if done == invocations {
            let after_all = vm_hwm_mb(function.0.id())?;
            return Ok(FunctionMemory {
                after_one_mb: after_one.unwrap_or(after_all),
                after_all_mb: after_all,
                invocations,
            });
        }
        let deadline_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64 + 900_000)
            .unwrap_or(u64::MAX);
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
             Lambda-Runtime-Aws-Request-Id: bench-{done}\r\n\
             Lambda-Runtime-Deadline-Ms: {deadline_ms}\r\n\
             Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:bench\r\n\
             Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            payload.len()
        );
        conn.write_all(head.as_bytes())?;
        conn.write_all(payload)?;
        drop(conn);

        let (mut conn, answer) = accept_request(&runtime, &mut function.0)?;
        conn.write_all(
            b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
        )?;
        if !answer.line.starts_with(&format!(
            "POST /2018-06-01/runtime/invocation/bench-{done}/response"
        )) {
            let body = String::from_utf8_lossy(&answer.body);
            return Err(ProbeError::Function(format!(
                "answered invocation {} with {:?}: {}",
                done + 1,
                answer.line,
                body.chars().take(300).collect::<String>()
            )));
        }
    }
    unreachable!("the loop returns at its last turn")
}

/// The function process, killed when the probe ends however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Request {
    line: String,
    body: Vec<u8>,
}

/// The next connection to the Runtime API and its one request (every answer says
/// `Connection: close`, so a connection carries one request).
fn accept_request(
    listener: &TcpListener,
    function: &mut Child,
) -> Result<(TcpStream, Request), ProbeError> {
    let start = Instant::now();
    let mut conn = loop {
        match listener.accept() {
            Ok((conn, _)) => break conn,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if let Some(status) = function.try_wait()? {
                    return Err(ProbeError::Function(format!("exited ({status})")));
                }
                if start.elapsed() > STEP_LIMIT {
                    return Err(ProbeError::Function(format!(
                        "did not call the Runtime API within {STEP_LIMIT:?}"
                    )));
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => return Err(e.into()),
        }
    };
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(STEP_LIMIT))?;
    let request = read_request(&mut conn)?;
    Ok((conn, request))
}

/// One HTTP/1.1 request: the request line, and the body by `Content-Length` or chunked.
fn read_request(conn: &mut impl Read) -> std::io::Result<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let line = String::from_utf8_lossy(&buf[..find(&buf, b"\r\n").unwrap_or(0)]).into_owned();
    let mut body = buf.split_off(head_end);
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':').map(str::trim))
            .map(str::to_string)
    };
    if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        while body.len() < len {
            let n = conn.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        // The body is not read, only drained: up to the last, empty chunk.
        while !body.ends_with(b"0\r\n\r\n") {
            let n = conn.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            body.extend_from_slice(&chunk[..n]);
        }
    }
    Ok(Request { line, body })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Peak resident set (`VmHWM`) of a process, in MB.
fn vm_hwm_mb(pid: u32) -> Result<f64, ProbeError> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .ok_or_else(|| ProbeError::Function("has no VmHWM in /proc/<pid>/status".into()))
}

/// A moto server on a free loopback port, in its own process group, stopped on drop.
struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    fn start() -> Result<Moto, ProbeError> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| ProbeError::MotoMissing(e.to_string()))?;
        let mut moto = Moto { child, port };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = moto.child.try_wait()? {
                return Err(ProbeError::Moto(format!("it exited ({status})")));
            }
            if start.elapsed() > STEP_LIMIT {
                return Err(ProbeError::Moto(format!("not listening on {port}")));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(moto)
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One request to moto, which does not check signatures but reads the service from
    /// the credential scope; the response.
    fn call(
        &self,
        service: &str,
        method: &str,
        path: &str,
        form: &str,
    ) -> Result<String, ProbeError> {
        let mut conn = TcpStream::connect(("127.0.0.1", self.port))?;
        conn.set_read_timeout(Some(STEP_LIMIT))?;
        let content_type = if form.is_empty() {
            String::new()
        } else {
            "Content-Type: application/x-www-form-urlencoded\r\n".to_string()
        };
        write!(
            conn,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n{content_type}\
             Authorization: AWS4-HMAC-SHA256 \
             Credential=bench/20260101/us-east-1/{service}/aws4_request, \
             SignedHeaders=host, Signature=0\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{form}",
            self.port,
            form.len()
        )?;
        let mut response = String::new();
        conn.read_to_string(&mut response)?;
        if !response.starts_with("HTTP/1.1 200") {
            let first = response.lines().next().unwrap_or("");
            return Err(ProbeError::Moto(format!("{method} {path}: {first}")));
        }
        Ok(response)
    }

    fn create_bucket(&self, name: &str) -> Result<(), ProbeError> {
        self.call("s3", "PUT", &format!("/{name}"), "").map(drop)
    }

    fn create_topic(&self, name: &str) -> Result<String, ProbeError> {
        let form = format!("Action=CreateTopic&Name={name}");
        let response = self.call("sns", "POST", "/", &form)?;
        let arn = response
            .split_once("<TopicArn>")
            .and_then(|(_, rest)| rest.split_once("</TopicArn>"))
            .map(|(arn, _)| arn.to_string());
        arn.ok_or_else(|| ProbeError::Moto("CreateTopic returned no TopicArn".into()))
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // moto_server may fork workers: stop its whole group.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_request_by_length_and_chunked() {
        let mut by_length: &[u8] = b"POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
        let r = read_request(&mut by_length).unwrap();
        assert_eq!(
            (r.line.as_str(), r.body.as_slice()),
            ("POST /a HTTP/1.1", &b"hello"[..])
        );
        let mut chunked: &[u8] =
            b"POST /b HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
        let r = read_request(&mut chunked).unwrap();
        assert_eq!(r.line, "POST /b HTTP/1.1");
        assert!(r.body.starts_with(b"5\r\nhello"));
        let mut cut: &[u8] = b"POST /c HTTP/1.1\r\nContent-Length: 9\r\n\r\nhel";
        assert!(read_request(&mut cut).is_err());
    }
}
