//! The simulator over real HTTP, as Outreach's client meets it.

use twilio_simulator::{SendFault, Simulator};

async fn send(
    url: &str,
    account: &twilio_simulator::SimAccount,
    service_sid: &str,
) -> reqwest::Result<(u16, serde_json::Value)> {
    let response = reqwest::Client::new()
        .post(format!(
            "{url}/2010-04-01/Accounts/{}/Messages.json",
            account.sid
        ))
        .basic_auth(&account.sid, Some(&account.auth_token))
        .form(&[
            ("To", "+15551234567"),
            ("Body", "Hello"),
            ("MessagingServiceSid", service_sid),
        ])
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await?))
}

/// A started simulator with a full account and a Messaging Service.
async fn started() -> (
    Simulator,
    twilio_simulator::SimAccount,
    String,
    twilio_simulator::RunningSimulator,
) {
    let simulator = Simulator::new();
    let account = simulator.add_account("Full");
    let service = simulator.add_service(&account.sid, &["+15005550006"]);
    let running = simulator
        .start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    (simulator, account, service.sid, running)
}

#[tokio::test]
async fn twilio_authenticates_before_it_routes() {
    let simulator = Simulator::new();
    let running = simulator
        .start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let answer = reqwest::Client::new()
        .get(format!("{}/no/such/path", running.url))
        .basic_auth("ACnobody", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 401);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["code"], 20003);
}

#[tokio::test]
async fn a_dropped_answer_reaches_the_client_as_a_broken_connection_but_the_message_exists() {
    let (simulator, account, service, running) = started().await;

    simulator.fault_next_sends(&[SendFault::DropAnswer]);
    assert!(send(&running.url, &account, &service).await.is_err());
    assert_eq!(simulator.messages().len(), 1, "Twilio created the message");

    let (status, body) = send(&running.url, &account, &service).await.unwrap();
    assert_eq!(status, 201);
    assert!(body["sid"].as_str().unwrap().starts_with("SM"));
    assert_eq!(simulator.messages().len(), 2);
}

/// Sends one message whose status callbacks go to `callback_url`, and
/// waits until the simulator has posted both (`sent`, `delivered`).
async fn callbacks_posted_to(callback_url: &str) -> Vec<twilio_simulator::PostedCallback> {
    let (simulator, account, service, running) = started().await;
    let answer = reqwest::Client::new()
        .post(format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            running.url, account.sid
        ))
        .basic_auth(&account.sid, Some(&account.auth_token))
        .form(&[
            ("To", "+15551234567"),
            ("Body", "Hello"),
            ("MessagingServiceSid", service.as_str()),
            ("StatusCallback", callback_url),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 201);
    for _ in 0..200 {
        let posted = simulator.posted_callbacks();
        if posted.len() == 2 {
            return posted;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!(
        "the callbacks were not posted: {:?}",
        simulator.posted_callbacks()
    );
}

/// A receiver of status callbacks over plain HTTP: what each post carried
/// (its signature header, user agent and form), answered 200.
async fn callback_receiver() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::Mutex<Vec<(String, String, String)>>>,
) {
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = received.clone();
    let router = axum::Router::new().route(
        "/status",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let kept = kept.clone();
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                kept.lock().unwrap().push((
                    header("x-twilio-signature"),
                    header("user-agent"),
                    body,
                ));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (address, received)
}

#[tokio::test]
async fn status_callbacks_over_plain_http_are_posted_signed_as_forms_and_answered() {
    let (address, received) = callback_receiver().await;
    let posted = callbacks_posted_to(&format!("http://{address}/status")).await;

    let statuses: Vec<(&str, Option<u16>)> = posted
        .iter()
        .map(|p| (p.status.as_str(), p.answer))
        .collect();
    assert_eq!(statuses, [("sent", Some(200)), ("delivered", Some(200))]);
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    for ((signature, user_agent, form), status) in received.iter().zip(["sent", "delivered"]) {
        assert!(!signature.is_empty(), "every callback is signed");
        assert_eq!(user_agent, "TwilioProxy/1.1");
        let form: Vec<(String, String)> = serde_urlencoded::from_str(form).unwrap();
        assert!(form.contains(&("MessageStatus".to_owned(), status.to_owned())));
    }
}

/// An HTTPS callback URL goes through the TLS client: what reaches the
/// server first is a TLS handshake, never the form in the clear. (The
/// server below speaks no TLS, so no answer is recorded.)
#[tokio::test]
async fn status_callbacks_to_an_https_url_are_posted_over_tls() {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let first_bytes = tokio::spawn(async move {
        let mut seen = Vec::new();
        for _ in 0..2 {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut bytes = [0u8; 3];
            socket.read_exact(&mut bytes).await.unwrap();
            seen.push(bytes);
        }
        seen
    });
    let posted = callbacks_posted_to(&format!("https://{address}/status")).await;

    assert!(posted.iter().all(|p| p.answer.is_none()), "{posted:?}");
    // A TLS record: a handshake (22), version 3.x.
    let first_bytes = tokio::time::timeout(std::time::Duration::from_secs(5), first_bytes)
        .await
        .expect("each callback opened a connection")
        .unwrap();
    for bytes in first_bytes {
        assert_eq!(bytes[..2], [22, 3], "{bytes:?}");
    }
}

/// A receiver of callbacks that speaks HTTP/1.1 by hand, to control the
/// connection: it answers every request with `answer` and, when `close`,
/// closes the connection after each answer without saying so. Counts the
/// connections opened and the requests read.
async fn raw_receiver(
    answer: &'static [u8],
    close: bool,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let connections = std::sync::Arc::new(AtomicUsize::new(0));
    let requests = std::sync::Arc::new(AtomicUsize::new(0));
    let (opened, read) = (connections.clone(), requests.clone());
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            opened.fetch_add(1, SeqCst);
            let read = read.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                loop {
                    // One request: its head, then its Content-Length.
                    let (head, length) = loop {
                        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buffer[..end]).to_lowercase();
                            let length: usize = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .map_or(0, |v| v.trim().parse().unwrap());
                            break (end + 4, length);
                        }
                        if socket.read_buf(&mut buffer).await.unwrap_or(0) == 0 {
                            return;
                        }
                    };
                    while buffer.len() < head + length {
                        if socket.read_buf(&mut buffer).await.unwrap_or(0) == 0 {
                            return;
                        }
                    }
                    buffer.drain(..head + length);
                    read.fetch_add(1, SeqCst);
                    socket.write_all(answer).await.unwrap();
                    if close {
                        return;
                    }
                }
            });
        }
    });
    (address, connections, requests)
}

fn answers(posted: &[twilio_simulator::PostedCallback]) -> Vec<(&str, Option<u16>)> {
    posted
        .iter()
        .map(|p| (p.status.as_str(), p.answer))
        .collect()
}

#[tokio::test]
async fn a_messages_callbacks_share_one_kept_alive_connection() {
    use std::sync::atomic::Ordering::SeqCst;
    let (address, connections, requests) =
        raw_receiver(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false).await;
    let posted = callbacks_posted_to(&format!("http://{address}/status?m=1")).await;

    assert_eq!(
        answers(&posted),
        [("sent", Some(200)), ("delivered", Some(200))]
    );
    assert_eq!(requests.load(SeqCst), 2);
    assert_eq!(connections.load(SeqCst), 1);
}

#[tokio::test]
async fn a_kept_connection_the_receiver_closed_is_replaced_and_the_callback_still_posted() {
    use std::sync::atomic::Ordering::SeqCst;
    let (address, connections, requests) =
        raw_receiver(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true).await;
    let posted = callbacks_posted_to(&format!("http://{address}/status")).await;

    assert_eq!(
        answers(&posted),
        [("sent", Some(200)), ("delivered", Some(200))]
    );
    assert_eq!(requests.load(SeqCst), 2, "each callback posted once");
    assert_eq!(connections.load(SeqCst), 2);
}

#[tokio::test]
async fn answers_whose_end_is_not_given_by_a_length_are_read_for_their_status_only() {
    use std::sync::atomic::Ordering::SeqCst;
    for answer in [
        &b"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nno\r\n0\r\n\r\n"[..],
        &b"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno"[..],
        &b"HTTP/1.0 500 Internal Server Error\r\n\r\nno"[..],
    ] {
        let (address, connections, requests) = raw_receiver(answer, false).await;
        let posted = callbacks_posted_to(&format!("http://{address}/status")).await;

        assert_eq!(
            answers(&posted),
            [("sent", Some(500)), ("delivered", Some(500))],
            "{}",
            String::from_utf8_lossy(answer)
        );
        assert_eq!(requests.load(SeqCst), 2);
        assert_eq!(connections.load(SeqCst), 2, "none is kept");
    }
}

#[tokio::test]
async fn callbacks_to_nobody_listening_are_recorded_unanswered() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let posted = callbacks_posted_to(&format!("http://{address}/status")).await;

    assert_eq!(answers(&posted), [("sent", None), ("delivered", None)]);
}
