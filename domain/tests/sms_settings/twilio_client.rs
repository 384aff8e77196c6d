use std::time::Duration;

use domain::twilio::{
    AcceptedMessage, AccountStatus, AccountType, OutgoingMessage, SendError, TwilioClient,
    TwilioError,
};

use crate::helpers::{World, mg, sid, token, world};

#[tokio::test]
async fn the_sender_pool_is_read_across_pages() {
    let w = world().await;
    let numbers: Vec<String> = (0..120).map(|i| format!("+1500555{i:04}")).collect();
    let refs: Vec<&str> = numbers.iter().map(String::as_str).collect();
    let service = w.simulator.add_service(&w.account.sid, &refs);

    let listed = w
        .services
        .twilio
        .list_phone_numbers(
            &sid(&w.account.sid),
            &token(&w.account.auth_token),
            &mg(&service.sid),
            10,
        )
        .await
        .unwrap();

    assert_eq!(listed, numbers);
    let pages = w
        .simulator
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/PhoneNumbers"))
        .count();
    assert_eq!(pages, 3, "50 per page");
}

#[tokio::test]
async fn the_account_fetch_reads_status_and_type_but_never_keeps_the_token_it_returns() {
    let w = world().await;
    let trial = w.simulator.add_account("Trial");

    let account = w
        .services
        .twilio
        .fetch_account(&sid(&trial.sid), &token(&trial.auth_token))
        .await
        .unwrap();

    assert_eq!(account.status, AccountStatus::Active);
    assert_eq!(account.kind, AccountType::Trial);
    assert!(!format!("{account:?}").contains(&trial.auth_token));
}

#[tokio::test]
async fn a_429_from_twilio_is_reported_as_rate_limiting() {
    let w = world().await;
    w.simulator.rate_limit_next(1);

    let result = w
        .services
        .twilio
        .fetch_account(&sid(&w.account.sid), &token(&w.account.auth_token))
        .await;

    assert_eq!(result, Err(TwilioError::RateLimited));
}

#[tokio::test]
async fn a_timeout_is_reported_as_unreachable() {
    let w = world().await;
    w.simulator.set_latency(Duration::from_millis(500));
    let impatient =
        TwilioClient::new(&w.twilio_url, &w.twilio_url, Duration::from_millis(100)).unwrap();

    let result = impatient
        .fetch_account(&sid(&w.account.sid), &token(&w.account.auth_token))
        .await;

    assert_eq!(
        result,
        Err(TwilioError::Unreachable("the request timed out".into()))
    );
}

/// A server on this machine (its URL) that reads the start of each
/// request and leaves the answer to `answer`, each connection on a task
/// of its own.
async fn answering_with<F, A>(answer: F) -> String
where
    F: Fn(tokio::net::TcpStream) -> A + Send + Sync + 'static,
    A: std::future::Future<Output = ()> + Send + 'static,
{
    use tokio::io::AsyncReadExt;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let answer = std::sync::Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let answer = std::sync::Arc::clone(&answer);
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                answer(socket).await;
            });
        }
    });
    url
}

/// A server that answers every request with a redirect to `elsewhere`.
async fn redirecting_to(elsewhere: String) -> String {
    use tokio::io::AsyncWriteExt;

    let answer = format!(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: {elsewhere}/2010-04-01/Accounts/x.json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    answering_with(move |mut socket| {
        let answer = answer.clone();
        async move {
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    })
    .await
}

#[tokio::test]
async fn the_client_follows_no_redirect_so_credentials_never_go_elsewhere() {
    let w = world().await;
    let elsewhere = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let elsewhere_url = format!("http://{}", elsewhere.local_addr().unwrap());
    let redirector = redirecting_to(elsewhere_url).await;
    let client = TwilioClient::new(&redirector, &redirector, Duration::from_secs(2)).unwrap();

    let answer = client
        .fetch_account(&sid(&w.account.sid), &token(&w.account.auth_token))
        .await;

    assert!(answer.is_err(), "a redirect is not an answer");
    let reached = tokio::time::timeout(Duration::from_millis(300), elsewhere.accept()).await;
    assert!(reached.is_err(), "the redirect was followed");
}

#[test]
fn only_https_twilio_urls_are_accepted_off_this_machine() {
    assert!(
        TwilioClient::new(
            "http://api.twilio.com",
            "https://messaging.twilio.com",
            Duration::from_secs(1)
        )
        .is_err()
    );
    assert!(
        TwilioClient::new(
            "https://api.twilio.com",
            "https://messaging.twilio.com",
            Duration::from_secs(1)
        )
        .is_ok()
    );
}

#[tokio::test]
async fn transport_errors_name_no_url_number_or_credential() {
    let w = world().await;
    let impatient =
        TwilioClient::new(&w.twilio_url, &w.twilio_url, Duration::from_millis(100)).unwrap();
    w.simulator.set_latency(Duration::from_millis(500));

    let error = impatient
        .find_message(
            &sid(&w.account.sid),
            &token(&w.account.auth_token),
            &domain::twilio::MessageSearch {
                to: "+14155552671",
                body: "hi",
                messaging_service_sid: &w.service.sid,
                since: 0,
            },
        )
        .await
        .unwrap_err()
        .to_string();

    for secret in [
        w.account.sid.as_str(),
        "4155552671",
        "127.0.0.1",
        w.account.auth_token.as_str(),
    ] {
        assert!(!error.contains(secret), "{error} names {secret}");
    }
}

/// A campaign's message, as the engine hands it to Create Message.
fn outgoing<'a>(service: &'a str, status_callback: &'a str) -> OutgoingMessage<'a> {
    OutgoingMessage {
        to: "+14155552671",
        body: "Polls are open until 8pm & close at 8:30",
        messaging_service_sid: service,
        status_callback,
        validity_period: Some(3_600),
    }
}

/// Sends `message` through `client` as the world's account.
async fn send(
    client: &TwilioClient,
    w: &World,
    message: &OutgoingMessage<'_>,
) -> Result<AcceptedMessage, SendError> {
    client
        .send_message(&sid(&w.account.sid), &token(&w.account.auth_token), message)
        .await
}

/// Create Message has a client of its own (hyper's, not reqwest's): what
/// it posts is what Twilio reads, signed in with the account's token, and
/// Twilio's answer is read back.
#[tokio::test]
async fn a_send_posts_the_message_as_twilio_reads_it_and_reads_the_answer() {
    let w = world().await;
    let callback = "https://outreach.example/webhooks/twilio/status/acme?m=7";

    let accepted = send(&w.services.twilio, &w, &outgoing(&w.service.sid, callback))
        .await
        .unwrap();

    let messages = w.simulator.messages();
    assert_eq!(messages.len(), 1);
    let sent = &messages[0];
    assert_eq!(accepted.sid, sent.sid);
    assert_eq!(accepted.status, "accepted");
    assert_eq!(
        (
            sent.to.as_str(),
            sent.body.as_str(),
            sent.messaging_service_sid.as_str()
        ),
        (
            "+14155552671",
            "Polls are open until 8pm & close at 8:30",
            w.service.sid.as_str()
        )
    );
    assert_eq!(sent.status_callback.as_deref(), Some(callback));
    assert_eq!(sent.validity_period, Some(3_600));
}

#[tokio::test]
async fn a_send_with_a_wrong_token_is_rejected_as_credentials() {
    let w = world().await;
    let wrong = "0".repeat(32);

    let answer = w
        .services
        .twilio
        .send_message(
            &sid(&w.account.sid),
            &token(&wrong),
            &outgoing(&w.service.sid, ""),
        )
        .await;

    assert_eq!(
        answer,
        Err(SendError::Rejected(TwilioError::CredentialsRejected))
    );
    assert!(w.simulator.messages().is_empty());
}

/// Whether a failed send may be sent again rests on this: only a
/// connection that never opened proves Twilio never saw the message.
#[tokio::test]
async fn a_send_that_never_connected_was_not_sent_and_a_late_answer_is_an_unknown_outcome() {
    let w = world().await;
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let unreachable = TwilioClient::new(&nowhere, &nowhere, Duration::from_secs(2)).unwrap();
    let message = outgoing(&w.service.sid, "");

    let refused = send(&unreachable, &w, &message).await;
    assert_eq!(
        refused,
        Err(SendError::NotSent("the connection failed".into()))
    );

    w.simulator.set_latency(Duration::from_millis(500));
    let impatient =
        TwilioClient::new(&w.twilio_url, &w.twilio_url, Duration::from_millis(100)).unwrap();
    let late = send(&impatient, &w, &message).await;
    assert_eq!(
        late,
        Err(SendError::OutcomeUnknown("the request timed out".into()))
    );
}

#[tokio::test]
async fn a_send_follows_no_redirect_so_credentials_never_go_elsewhere() {
    let w = world().await;
    let elsewhere = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let elsewhere_url = format!("http://{}", elsewhere.local_addr().unwrap());
    let redirector = redirecting_to(elsewhere_url).await;
    let client = TwilioClient::new(&redirector, &redirector, Duration::from_secs(2)).unwrap();

    let answer = send(&client, &w, &outgoing(&w.service.sid, "")).await;

    assert!(
        matches!(answer, Err(SendError::Rejected(_))),
        "a redirect is not an acceptance: {answer:?}"
    );
    let reached = tokio::time::timeout(Duration::from_millis(300), elsewhere.accept()).await;
    assert!(reached.is_err(), "the redirect was followed");
}

/// Twilio is reached over https: the send's connection starts with a TLS
/// handshake, and the form (with its Basic credentials) never goes out in
/// the clear.
#[tokio::test]
async fn a_send_to_an_https_url_opens_tls_first() {
    use tokio::io::AsyncReadExt;

    let w = world().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let client = TwilioClient::new(&url, &url, Duration::from_secs(2)).unwrap();
    let first_bytes = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut read = [0u8; 5];
        socket.read_exact(&mut read).await.unwrap();
        // Closed without answering: the handshake fails.
        read
    });

    let answer = send(&client, &w, &outgoing(&w.service.sid, "")).await;

    let record = first_bytes.await.unwrap();
    // A TLS handshake record (22), version 3.x.
    assert_eq!(&record[..2], &[22, 3], "not TLS: {record:?}");
    assert!(answer.is_err(), "nothing answered: {answer:?}");
}

/// A server whose every answer is `status` with a body that never ends.
async fn answering_endlessly(status: &'static str) -> String {
    use tokio::io::AsyncWriteExt;

    answering_with(move |mut socket| async move {
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        );
        let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
        if socket.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        while socket.write_all(chunk.as_bytes()).await.is_ok() {}
    })
    .await
}

/// An answer is read up to a mebibyte, on both clients: one that never
/// ends is given up on then, not read until the client's timeout (or
/// memory) runs out.
#[tokio::test]
async fn an_answer_that_never_ends_is_cut_off_not_read_forever() {
    let w = world().await;
    let patient = Duration::from_secs(60);
    let fetches = answering_endlessly("200 OK").await;
    let fetching = TwilioClient::new(&fetches, &fetches, patient).unwrap();
    let sends = answering_endlessly("201 Created").await;
    let sending = TwilioClient::new(&sends, &sends, patient).unwrap();

    let fetched = tokio::time::timeout(
        Duration::from_secs(20),
        fetching.fetch_account(&sid(&w.account.sid), &token(&w.account.auth_token)),
    )
    .await
    .expect("the fetch gave up on its own");
    let sent = tokio::time::timeout(
        Duration::from_secs(20),
        send(&sending, &w, &outgoing(&w.service.sid, "")),
    )
    .await
    .expect("the send gave up on its own");

    assert!(
        matches!(&fetched, Err(e) if !e.to_string().contains("timed out")),
        "{fetched:?}"
    );
    assert!(
        matches!(&sent, Err(SendError::OutcomeUnknown(why)) if !why.contains("timed out")),
        "{sent:?}"
    );
}
