//! `kill -9` of the real `outreach` process in the middle of a campaign,
//! then a restart: every recipient is messaged exactly once.

use std::time::Duration;

use twilio_simulator::SendFault;

use crate::{processes::Installation, sending::numbers};

#[tokio::test]
async fn a_kill_9_mid_campaign_then_a_restart_messages_every_recipient_exactly_once() {
    let database = domain::db::testing::scratch_database().await;
    let mut installation = Installation::new(&database.url).await;
    installation.env = vec![("OUTREACH_SEND_RATE".into(), "60".into())];
    let mut first = installation.start("all", installation.public_port).await;
    let cookie = installation.configured_organisation().await;
    // Some answers are lost on the way too.
    installation
        .twilio
        .fault_next_sends(&[SendFault::DropAnswer; 3]);
    let id = installation
        .run_campaign(&cookie, "Crash", &numbers(300))
        .await;

    // Kill it, without warning, while it is sending.
    while installation.twilio.messages().len() < 80 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.start_kill().unwrap();
    first.wait().await.unwrap();
    let left = installation.count_in("queued").await + installation.count_in("sending").await;
    assert!(left > 0, "the kill came before the end");

    let _second = installation.start("all", installation.public_port).await;
    installation
        .wait_until_completed(id, Duration::from_secs(90))
        .await;

    installation.assert_each_messaged_once(300);
    assert_eq!(installation.count_in("delivered").await, 300);
}
