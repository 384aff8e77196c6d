//! How many status callbacks per second Outreach verifies and stores: the
//! real router on a real socket and SQLite file, callbacks signed as Twilio
//! signs them, posted over HTTP by 32 concurrent clients (on the same
//! machine, so the number is conservative).
//!
//! `cargo bench -p server --bench status_callbacks [-- <callbacks>]`. It then
//! asks a cheap route (`/healthz`) as often in the same run, for the ratio.

mod support;

use std::{sync::Arc, time::Instant};

use domain::delivery::signature::twilio_signature;

#[tokio::main]
async fn main() {
    let count: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20_000);
    let bench = support::start().await;
    let (status, answer) = bench.save_settings(0).await;
    assert!(status.is_success(), "{status} {answer}");
    let support::Bench {
        address,
        pool,
        client,
        organisation,
        account,
        service,
        ..
    } = &bench;

    // Messages Twilio has accepted, waiting for their `delivered` callbacks.
    // (Completed rather than running, so the sending engine leaves them be.)
    sqlx::query(
        "INSERT INTO campaigns (id, organisation_id, name, channel, body, status, created_by, created_at, estimated_segments)
         VALUES (1, $1, 'Bench', 'sms', 'Hello', 'completed', 'bench', 0, 0)",
    )
    .bind(organisation.id)
    .execute(pool)
    .await
    .unwrap();
    let sids: Vec<String> = (0..count).map(|i| format!("SM{i:032x}")).collect();
    let mut tx = domain::db::begin_write(pool).await.unwrap();
    let mut ids = Vec::with_capacity(count);
    for (i, sid) in sids.iter().enumerate() {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO outbound_messages (campaign_id, phone, body, state, twilio_sid, twilio_status, status_rank, created_at, updated_at)
             VALUES (1, $1, 'Hello', 'sent', $2, 'sent', 4, 0, $3) RETURNING id",
        )
        .bind(format!("+4479{i:09}"))
        .bind(sid)
        .bind(domain::clock::now())
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        ids.push(id);
    }
    tx.commit().await.unwrap();

    // Each message's callbacks come to the URL its send asked for.
    let hook = format!(
        "{address}/webhooks/twilio/status/{}",
        organisation.public_id
    );
    // (URL, parameters, signature) of each callback.
    type Callback = (String, Vec<(String, String)>, String);
    let requests: Vec<Callback> = sids
        .iter()
        .zip(&ids)
        .map(|(sid, id)| {
            let url = format!("{hook}?m={id}");
            let params: Vec<(String, String)> = [
                ("AccountSid", account.sid.as_str()),
                ("ApiVersion", "2010-04-01"),
                ("From", "+15005550006"),
                ("MessageSid", sid),
                ("MessageStatus", "delivered"),
                ("MessagingServiceSid", service.sid.as_str()),
                ("SmsSid", sid),
                ("SmsStatus", "delivered"),
                ("To", "+447900000000"),
            ]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
            let signature = twilio_signature(account.auth_token.as_bytes(), &url, &params);
            (url, params, signature)
        })
        .collect();
    let queue = Arc::new(std::sync::Mutex::new(requests));

    let started = Instant::now();
    let workers: Vec<_> = (0..32)
        .map(|_| {
            let queue = queue.clone();
            let client = client.clone();
            tokio::spawn(async move {
                loop {
                    let Some((url, params, signature)) = queue.lock().unwrap().pop() else {
                        return;
                    };
                    let answer = client
                        .post(&url)
                        .header("X-Twilio-Signature", signature)
                        .form(&params)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(answer.status(), 200);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let elapsed = started.elapsed();

    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM delivery_events")
        .fetch_one(pool)
        .await
        .unwrap();
    let delivered: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM outbound_messages WHERE state = 'delivered'")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!((stored, delivered), (count as i64, count as i64));
    let callbacks_per_second = count as f64 / elapsed.as_secs_f64();
    println!(
        "{count} status callbacks verified, stored and applied in {:.2} s: {callbacks_per_second:.0} callbacks/s (32 concurrent clients)",
        elapsed.as_secs_f64(),
    );

    // The ceiling in the same run: a cheap route (`/healthz`: one trivial
    // query) asked as often, by the same 32 clients, through the same stack.
    let started = Instant::now();
    let remaining = Arc::new(std::sync::atomic::AtomicUsize::new(count));
    let workers: Vec<_> = (0..32)
        .map(|_| {
            let remaining = remaining.clone();
            let client = client.clone();
            let health = format!("{address}/healthz");
            tokio::spawn(async move {
                while remaining
                    .fetch_update(
                        std::sync::atomic::Ordering::SeqCst,
                        std::sync::atomic::Ordering::SeqCst,
                        |n| n.checked_sub(1),
                    )
                    .is_ok()
                {
                    let answer = client.get(&health).send().await.unwrap();
                    assert_eq!(answer.status(), 200);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let cheap_per_second = count as f64 / started.elapsed().as_secs_f64();
    println!(
        "{count} GET /healthz in the same run: {cheap_per_second:.0} requests/s; callbacks at {:.2}x that rate",
        callbacks_per_second / cheap_per_second
    );
}
