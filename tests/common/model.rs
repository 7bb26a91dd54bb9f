//! A stand-in for the model API behind Claude Code, on 127.0.0.1: the one
//! thing the tests cannot run for real. It speaks as much of the Messages
//! API as the real client needs (HEAD /, POST /v1/messages streamed as
//! server-sent events or as JSON, count_tokens), records every request it
//! gets with the moment it got it, and answers each with what the test's
//! script says: a text, or a `tool_use` of the Bash tool, so that the
//! "model" can run commands through the real client.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// What the stand-in model answers.
pub enum Reply {
    Text(String),
    /// Run this command with the Bash tool.
    Bash(String),
}

/// Decides the answer to a request (its whole body).
pub type Script = dyn Fn(&Request) -> Reply + Send + Sync;

/// One POST /v1/messages the client made.
#[derive(Clone, Debug)]
pub struct Request {
    /// When its body had arrived, as wall-clock time (to compare with the
    /// records' and the tests' own clocks).
    pub at: SystemTime,
    pub body: Value,
}

impl Request {
    /// A main-loop request (streamed), as opposed to the client's side
    /// calls (titles, summaries).
    pub fn streamed(&self) -> bool {
        self.body["stream"] == json!(true)
    }

    pub fn messages(&self) -> &[Value] {
        self.body["messages"].as_array().map_or(&[], |v| v)
    }

    /// The text of the last message with role "user" (the client adds a
    /// system message after it), tool results included.
    pub fn last_user_text(&self) -> String {
        self.messages()
            .iter()
            .rev()
            .find(|m| m["role"] == "user")
            .map(text_of)
            .unwrap_or_default()
    }

    /// Every user message's text, in order.
    pub fn user_texts(&self) -> Vec<String> {
        self.messages()
            .iter()
            .filter(|m| m["role"] == "user")
            .map(text_of)
            .collect()
    }
}

/// The text of a message: a string, or its text and tool-result blocks.
pub fn text_of(m: &Value) -> String {
    fn blocks(c: &Value, out: &mut String) {
        match c {
            Value::String(s) => out.push_str(s),
            Value::Array(items) => {
                for b in items {
                    match b["type"].as_str() {
                        Some("text") => out.push_str(b["text"].as_str().unwrap_or("")),
                        Some("tool_result") => blocks(&b["content"], out),
                        _ => {}
                    }
                    out.push('\n');
                }
            }
            _ => {}
        }
    }
    let mut s = String::new();
    blocks(&m["content"], &mut s);
    s
}

pub struct Model {
    pub port: u16,
    seen: Arc<(Mutex<Vec<Request>>, Condvar)>,
    stop: Arc<AtomicBool>,
}

impl Model {
    /// Listens on a free loopback port; every connection gets a thread.
    pub fn start(script: Arc<Script>) -> Model {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the stand-in model");
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let ids = Arc::new(AtomicUsize::new(0));
        {
            let (seen, stop) = (seen.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (seen, script, ids) = (seen.clone(), script.clone(), ids.clone());
                    std::thread::spawn(move || serve(conn, &seen, &*script, &ids));
                }
            });
        }
        Model { port, seen, stop }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.seen.0.lock().unwrap().clone()
    }

    /// Waits up to `limit` for a streamed request that `pred` accepts;
    /// the first such, or None.
    pub fn wait_for(&self, limit: Duration, pred: impl Fn(&Request) -> bool) -> Option<Request> {
        let end = Instant::now() + limit;
        let (lock, cv) = &*self.seen;
        let mut seen = lock.lock().unwrap();
        loop {
            if let Some(r) = seen.iter().find(|r| r.streamed() && pred(r)) {
                return Some(r.clone());
            }
            let now = Instant::now();
            if now >= end {
                return None;
            }
            seen = cv.wait_timeout(seen, end - now).unwrap().0;
        }
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// One keep-alive connection: requests until the client closes it.
fn serve(
    conn: TcpStream,
    seen: &(Mutex<Vec<Request>>, Condvar),
    script: &Script,
    ids: &AtomicUsize,
) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(120)));
    let mut out = match conn.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    };
    let mut r = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("").to_string(),
        );
        let mut length = 0usize;
        let mut chunked = false;
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let lower = h.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
                chunked = true;
            }
        }
        let body = if chunked {
            read_chunked(&mut r)
        } else {
            let mut b = vec![0; length];
            if r.read_exact(&mut b).is_err() {
                return;
            }
            b
        };
        let reply = match (method.as_str(), path.as_str()) {
            ("POST", p) if p.starts_with("/v1/messages/count_tokens") => {
                json_response(&json!({"input_tokens": 10}))
            }
            ("POST", p) if p.starts_with("/v1/messages") => {
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let req = Request {
                    at: SystemTime::now(),
                    body,
                };
                let answer = script(&req);
                let n = ids.fetch_add(1, Ordering::SeqCst);
                let resp = if req.streamed() {
                    sse_response(&answer, n)
                } else {
                    json_response(&message(&answer, n))
                };
                let (lock, cv) = seen;
                lock.lock().unwrap().push(req);
                cv.notify_all();
                resp
            }
            ("HEAD", _) => b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec(),
            _ => json_response(&json!({})),
        };
        if out.write_all(&reply).and_then(|()| out.flush()).is_err() {
            return;
        }
    }
}

fn read_chunked(r: &mut impl BufRead) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        if r.read_line(&mut size).unwrap_or(0) == 0 {
            return body;
        }
        let n =
            usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
        let mut chunk = vec![0; n + 2];
        if r.read_exact(&mut chunk).is_err() {
            return body;
        }
        if n == 0 {
            return body;
        }
        body.extend_from_slice(&chunk[..n]);
    }
}

fn json_response(v: &Value) -> Vec<u8> {
    let body = v.to_string();
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn usage() -> Value {
    json!({"input_tokens": 1, "output_tokens": 1})
}

/// The whole answer as one (non-streamed) message.
fn message(answer: &Reply, n: usize) -> Value {
    let (content, stop) = match answer {
        Reply::Text(t) => (json!([{"type": "text", "text": t}]), "end_turn"),
        Reply::Bash(cmd) => (
            json!([{"type": "tool_use", "id": format!("toolu_{n}"), "name": "Bash",
                    "input": {"command": cmd, "description": "run it"}}]),
            "tool_use",
        ),
    };
    json!({"id": format!("msg_{n}"), "type": "message", "role": "assistant", "model": "stand-in",
           "content": content, "stop_reason": stop, "stop_sequence": null, "usage": usage()})
}

/// The answer as the Messages API streams it.
fn sse_response(answer: &Reply, n: usize) -> Vec<u8> {
    let mut events = vec![(
        "message_start",
        json!({"type": "message_start", "message": {"id": format!("msg_{n}"), "type": "message",
              "role": "assistant", "model": "stand-in", "content": [], "stop_reason": null,
              "stop_sequence": null, "usage": usage()}}),
    )];
    let stop = match answer {
        Reply::Text(t) => {
            events.push((
                "content_block_start",
                json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            ));
            events.push((
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}}),
            ));
            "end_turn"
        }
        Reply::Bash(cmd) => {
            events.push((
                "content_block_start",
                json!({"type": "content_block_start", "index": 0, "content_block":
                      {"type": "tool_use", "id": format!("toolu_{n}"), "name": "Bash", "input": {}}}),
            ));
            let input = json!({"command": cmd, "description": "run it"}).to_string();
            events.push((
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0, "delta":
                      {"type": "input_json_delta", "partial_json": input}}),
            ));
            "tool_use"
        }
    };
    events.push((
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    events.push((
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
              "usage": {"output_tokens": 1}}),
    ));
    events.push(("message_stop", json!({"type": "message_stop"})));
    let mut body = String::new();
    for (e, d) in events {
        body.push_str(&format!("event: {e}\ndata: {d}\n\n"));
    }
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
