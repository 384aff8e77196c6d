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
    let simulator = Simulator::new();
    let account = simulator.add_account("Full");
    let service = simulator.add_service(&account.sid, &["+15005550006"]);
    let running = simulator
        .start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();

    simulator.fault_next_sends(&[SendFault::DropAnswer]);
    assert!(send(&running.url, &account, &service.sid).await.is_err());
    assert_eq!(simulator.messages().len(), 1, "Twilio created the message");

    let (status, body) = send(&running.url, &account, &service.sid).await.unwrap();
    assert_eq!(status, 201);
    assert!(body["sid"].as_str().unwrap().starts_with("SM"));
    assert_eq!(simulator.messages().len(), 2);
}
