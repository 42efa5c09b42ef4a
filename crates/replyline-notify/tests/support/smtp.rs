//! A real SMTP server for the tests, written in Rust (no Python, nothing to
//! install): it listens on 127.0.0.1 on a free port, speaks EHLO/HELO, MAIL,
//! RCPT, DATA, RSET, NOOP and QUIT over plain TCP, and keeps every accepted
//! message with its headers and body decoded (RFC 2047 encoded words,
//! base64 or quoted-printable bodies), so the tests check what a recipient reads.
//!
//! Recipients whose local part is `reject` get 550 (permanent), `tempfail`
//! get 451 (transient); while [`SmtpSink::set_failing`] is on, every
//! recipient gets 451. It offers no TLS and no AUTH, so a TLS client fails
//! its handshake against it.
//!
//! Shared by `replyline-notify`'s e-mail tests and `replyline-server`'s
//! delivery tests (`#[path = ".../tests/support/smtp.rs"] mod smtp;`).

#![allow(dead_code)] // each test file uses a part of it

use base64::Engine as _;
use std::io::{BufRead, BufReader, Read as _, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long a test waits for a message, and a connection may stay silent.
const WAIT: Duration = Duration::from_secs(10);
/// The longest command line or message accepted (a test never comes close).
const MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;

/// One accepted message: the envelope, the raw bytes and the decoded parts.
#[derive(Clone, Debug)]
pub struct Mail {
    /// `MAIL FROM` address, without angle brackets.
    pub mail_from: String,
    /// Accepted `RCPT TO` addresses, in order, without angle brackets.
    pub rcpt_tos: Vec<String>,
    /// The message after DATA (dot-unstuffed, CRLF line endings).
    pub raw: String,
    /// Decoded `From`, `To` and `Subject` headers.
    pub from: String,
    pub to: String,
    pub subject: String,
    /// `type/subtype` of `Content-Type`, lower case (`text/plain` by default).
    pub content_type: String,
    /// The `charset` parameter, lower case.
    pub charset: Option<String>,
    /// The body after its transfer encoding is undone (UTF-8).
    pub body: String,
}

#[derive(Default)]
struct Shared {
    mails: Mutex<Vec<Mail>>,
    arrived: Condvar,
    failing: AtomicBool,
    stopped: AtomicBool,
}

/// The running server; stops when dropped.
pub struct SmtpSink {
    port: u16,
    shared: Arc<Shared>,
}

impl SmtpSink {
    /// Binds a free port on 127.0.0.1 and serves each connection on its own thread.
    ///
    /// # Panics
    /// When no port can be bound.
    #[must_use]
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the SMTP test server");
        let port = listener.local_addr().expect("local address").port();
        let shared = Arc::new(Shared::default());
        let accept = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accept.stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let session = accept.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &session);
                });
            }
        });
        Self { port, shared }
    }

    /// The port it listens on.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `smtp://127.0.0.1:PORT`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// While on, every recipient is answered 451 (a transient failure).
    pub fn set_failing(&self, failing: bool) {
        self.shared.failing.store(failing, Ordering::SeqCst);
    }

    /// Every accepted message so far, in order.
    ///
    /// # Panics
    /// When a server thread panicked.
    #[must_use]
    pub fn messages(&self) -> Vec<Mail> {
        self.shared.mails.lock().expect("mails").clone()
    }

    /// How many messages were accepted.
    #[must_use]
    pub fn count(&self) -> usize {
        self.messages().len()
    }

    /// Waits up to 10 s for message number `n` (1-based).
    ///
    /// # Panics
    /// When it does not arrive in time.
    #[must_use]
    pub fn message(&self, n: usize) -> Mail {
        let deadline = Instant::now() + WAIT;
        let mut mails = self.shared.mails.lock().expect("mails");
        while mails.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "message {n} did not arrive within {WAIT:?}"
            );
            mails = self
                .shared
                .arrived
                .wait_timeout(mails, left)
                .expect("mails")
                .0;
        }
        mails[n - 1].clone()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag and exits.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// One SMTP session: the state between `MAIL` and the end of `DATA`.
#[derive(Default)]
struct Envelope {
    mail_from: Option<String>,
    rcpt_tos: Vec<String>,
}

fn serve(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream.set_read_timeout(Some(WAIT))?;
    let mut out = stream.try_clone()?;
    let mut input = BufReader::new(stream);
    reply(&mut out, "220 replyline-test.local ESMTP ready")?;
    let mut envelope = Envelope::default();
    let mut line = String::new();
    loop {
        line.clear();
        if read_line(&mut input, &mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end_matches(['\r', '\n']);
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let answer = match verb.as_str() {
            "EHLO" => {
                "250-replyline-test.local\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 10485760"
            }
            "HELO" => "250 replyline-test.local",
            "NOOP" => "250 OK",
            "RSET" => {
                envelope = Envelope::default();
                "250 OK"
            }
            "QUIT" => {
                reply(&mut out, "221 Bye")?;
                return Ok(());
            }
            "MAIL" => match address_after(command, "FROM:") {
                Some(from) => {
                    envelope = Envelope {
                        mail_from: Some(from),
                        rcpt_tos: Vec::new(),
                    };
                    "250 OK"
                }
                None => "501 Syntax: MAIL FROM:<address>",
            },
            "RCPT" => rcpt(command, &mut envelope, shared),
            "DATA" if envelope.mail_from.is_none() => "503 Error: need MAIL command",
            "DATA" if envelope.rcpt_tos.is_empty() => "503 Error: need RCPT command",
            "DATA" => {
                reply(&mut out, "354 End data with <CR><LF>.<CR><LF>")?;
                let raw = read_data(&mut input)?;
                let envelope = std::mem::take(&mut envelope);
                let mail = decode(
                    envelope.mail_from.unwrap_or_default(),
                    envelope.rcpt_tos,
                    raw,
                );
                shared.mails.lock().expect("mails").push(mail);
                shared.arrived.notify_all();
                "250 Message accepted"
            }
            _ => "502 Command not implemented",
        };
        reply(&mut out, answer)?;
    }
}

fn reply(out: &mut TcpStream, text: &str) -> std::io::Result<()> {
    out.write_all(text.as_bytes())?;
    out.write_all(b"\r\n")?;
    out.flush()
}

/// Reads one line, refusing one longer than [`MAX_MESSAGE_BYTES`]; 0 at the end.
fn read_line(input: &mut BufReader<TcpStream>, line: &mut String) -> std::io::Result<usize> {
    let mut bytes = Vec::new();
    let n = input
        .by_ref()
        .take(MAX_MESSAGE_BYTES as u64)
        .read_until(b'\n', &mut bytes)?;
    line.push_str(&String::from_utf8_lossy(&bytes));
    Ok(n)
}

fn rcpt(command: &str, envelope: &mut Envelope, shared: &Shared) -> &'static str {
    if envelope.mail_from.is_none() {
        return "503 Error: need MAIL command";
    }
    let Some(address) = address_after(command, "TO:") else {
        return "501 Syntax: RCPT TO:<address>";
    };
    if shared.failing.load(Ordering::SeqCst) {
        return "451 4.3.0 switched off by the test";
    }
    match address
        .split('@')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
        .as_str()
    {
        "reject" => "550 5.1.1 mailbox unavailable",
        "tempfail" => "451 4.3.0 try again later",
        _ => {
            envelope.rcpt_tos.push(address);
            "250 OK"
        }
    }
}

/// The `<address>` after `MAIL FROM:` / `RCPT TO:` (parameters after it ignored).
fn address_after(command: &str, keyword: &str) -> Option<String> {
    let upper = command.to_ascii_uppercase();
    let start = upper.find(keyword)? + keyword.len();
    let rest = command[start..].trim_start();
    let inner = rest.strip_prefix('<')?;
    let end = inner.find('>')?;
    Some(inner[..end].to_owned())
}

/// The message after DATA up to the lone `.`, dot-unstuffed, with CRLF line endings.
fn read_data(input: &mut BufReader<TcpStream>) -> std::io::Result<String> {
    let mut raw = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if read_line(input, &mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let text = line.trim_end_matches(['\r', '\n']);
        if text == "." {
            return Ok(raw);
        }
        raw.push_str(text.strip_prefix('.').unwrap_or(text));
        raw.push_str("\r\n");
        if raw.len() > MAX_MESSAGE_BYTES {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
    }
}

// ---------- decoding what a mail client shows ----------

fn decode(mail_from: String, rcpt_tos: Vec<String>, raw: String) -> Mail {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw.as_str(), ""));
    let headers = unfold(head);
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let (content_type, charset) = content_type(header("Content-Type").unwrap_or("text/plain"));
    let encoding = header("Content-Transfer-Encoding")
        .unwrap_or("7bit")
        .trim()
        .to_ascii_lowercase();
    let body = decode_body(body, &encoding);
    Mail {
        from: decode_words(header("From").unwrap_or("")),
        to: decode_words(header("To").unwrap_or("")),
        subject: decode_words(header("Subject").unwrap_or("")),
        content_type,
        charset,
        body,
        mail_from,
        rcpt_tos,
        raw,
    }
}

/// Header lines with continuation lines joined (RFC 5322 §2.2.3).
fn unfold(head: &str) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    headers
}

/// `type/subtype` and the charset of a `Content-Type` value, lower case.
fn content_type(value: &str) -> (String, Option<String>) {
    let mut parts = value.split(';');
    let kind = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let charset = parts.find_map(|p| {
        let (key, value) = p.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_ascii_lowercase())
    });
    (kind, charset)
}

/// The body with its transfer encoding undone; 7bit and 8bit stay as sent.
fn decode_body(body: &str, encoding: &str) -> String {
    let bytes = match encoding {
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .expect("a base64 body")
        }
        "quoted-printable" => quoted_printable(body, false),
        _ => body.as_bytes().to_vec(),
    };
    String::from_utf8(bytes).expect("a UTF-8 body")
}

/// Quoted-printable (RFC 2045 §6.7); `q_encoding`: RFC 2047's Q, where `_` is a space.
fn quoted_printable(text: &str, q_encoding: bool) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' if bytes[i + 1..].starts_with(b"\r\n") => i += 3,
            b'=' if bytes[i + 1..].starts_with(b"\n") => i += 2,
            b'=' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'=');
                        i += 1;
                    }
                }
            }
            b'_' if q_encoding => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// A header value with its RFC 2047 encoded words (`=?utf-8?b?...?=`,
/// `=?utf-8?q?...?=`) decoded; whitespace between two encoded words is dropped.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let Some(word) = encoded_word(&rest[start..]) else {
            out.push_str(&rest[..start + 2]);
            rest = &rest[start + 2..];
            after_word = false;
            continue;
        };
        let gap = &rest[..start];
        if !(after_word && gap.trim().is_empty()) {
            out.push_str(gap);
        }
        out.push_str(&word.text);
        rest = &rest[start + word.len..];
        after_word = true;
    }
    out.push_str(rest);
    out
}

struct Word {
    text: String,
    len: usize,
}

/// Decodes one `=?charset?B|Q?text?=` at the start of `s` (UTF-8 and ASCII charsets).
fn encoded_word(s: &str) -> Option<Word> {
    let body = s.strip_prefix("=?")?;
    let (charset, body) = body.split_once('?')?;
    let (kind, body) = body.split_once('?')?;
    let end = body.find("?=")?;
    let text = &body[..end];
    if !["utf-8", "us-ascii"].contains(&charset.to_ascii_lowercase().as_str()) {
        return None;
    }
    let bytes = match kind {
        "B" | "b" => base64::engine::general_purpose::STANDARD
            .decode(text)
            .ok()?,
        "Q" | "q" => quoted_printable(text, true),
        _ => return None,
    };
    let len = 2 + charset.len() + 1 + kind.len() + 1 + end + 2;
    Some(Word {
        text: String::from_utf8(bytes).ok()?,
        len,
    })
}

#[cfg(test)]
mod decoding {
    use super::*;

    #[test]
    fn encoded_words_and_bodies_decode() {
        assert_eq!(
            decode_words("=?utf-8?b?0JDQvdC90LA=?= =?utf-8?q?_=D0=B6=D0=B4=D1=91=D1=82?= ok"),
            "Анна ждёт ok"
        );
        assert_eq!(decode_words("plain =?x?"), "plain =?x?");
        assert_eq!(decode_body("a=3Db=\r\nc", "quoted-printable"), "a=bc");
        assert_eq!(decode_body("0JDQvdC9\r\n0LA=\r\n", "base64"), "Анна");
        let mail = decode(
            "a@x".into(),
            vec!["b@x".into()],
            "Subject: =?utf-8?b?0JDQvdC90LA=?=\r\n =?utf-8?b?0JDQvdC90LA=?=\r\n\
             Content-Type: text/plain; charset=\"UTF-8\"\r\n\r\nhi\r\n"
                .into(),
        );
        assert_eq!(mail.subject, "АннаАнна");
        assert_eq!(mail.content_type, "text/plain");
        assert_eq!(mail.charset.as_deref(), Some("utf-8"));
        assert_eq!(mail.body, "hi\r\n");
    }
}
