//! Twilio's webhooks over real HTTP: only requests signed with the
//! organisation's Auth Token over the public URL are believed.

use std::time::Duration;

use domain::delivery::signature::twilio_signature;
use reqwest::StatusCode;

use crate::{
    helpers::{TestApp, https_public_url, spawn_app, spawn_app_with},
    sending::{
        configured_organisation, numbers, run_campaign_to, save_new_auth_token, states, wait_until,
        without_callbacks,
    },
};

const PUBLIC: &str = "https://outreach.example.org";

struct Posted {
    status: StatusCode,
    body: String,
}

/// Posts `params` as a form to `path`, with this `X-Twilio-Signature`.
async fn post(
    app: &TestApp,
    path: &str,
    params: &[(&str, &str)],
    signature: Option<String>,
) -> Posted {
    let mut request = app
        .client
        .post(format!("{}{path}", app.address))
        .form(params);
    if let Some(signature) = signature {
        request = request.header("X-Twilio-Signature", signature);
    }
    let response = request.send().await.unwrap();
    Posted {
        status: response.status(),
        body: response.text().await.unwrap(),
    }
}

/// Posts `params` to `path` signed as Twilio would: with the account's
/// token, over the URL the request reached.
async fn post_signed(app: &TestApp, path: &str, params: &[(&str, &str)]) -> Posted {
    let url = format!("{}{path}", app.address);
    let signature = sign(&app.account.auth_token, &url, params);
    post(app, path, params, Some(signature)).await
}

fn sign(token: &str, url: &str, params: &[(&str, &str)]) -> String {
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    twilio_signature(token.as_bytes(), url, &params)
}

async fn event_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM delivery_events")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// A campaign whose one message Twilio accepted, with no callbacks yet:
/// returns (status path, message SID).
async fn sent_message(app: &TestApp) -> (String, String) {
    without_callbacks(app);
    let admin = configured_organisation(app).await;
    run_campaign_to(app, &admin, "Hooks", &numbers(1)).await;
    wait_until("the message sent", Duration::from_secs(10), || async {
        states(app).await[0].1 == "sent"
    })
    .await;
    let sid = app.twilio.messages()[0].sid.clone();
    (status_path(app), sid)
}

/// Where Twilio posts the first message's callbacks: the path and query of
/// the URL the send asked for (`…/webhooks/twilio/status/{public id}?m=…`).
fn status_path(app: &TestApp) -> String {
    let url = app.twilio.messages()[0]
        .status_callback
        .clone()
        .expect("every send asks for its callbacks");
    let path = &url[url.find("/webhooks/").expect("a webhook URL")..];
    assert!(path.contains("?m="), "{path}");
    path.to_owned()
}

fn delivered<'a>(app: &'a TestApp, sid: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("AccountSid", app.account.sid.as_str()),
        ("MessageSid", sid),
        ("MessageStatus", "delivered"),
        ("To", "+14155552000"),
        ("ApiVersion", "2010-04-01"),
    ]
}

#[tokio::test]
async fn a_callback_signed_with_the_auth_token_is_stored_and_moves_the_message() {
    let app = spawn_app().await;
    let (path, sid) = sent_message(&app).await;
    let params = delivered(&app, &sid);

    let posted = post_signed(&app, &path, &params).await;

    assert_eq!(posted.status, StatusCode::OK);
    assert_eq!(states(&app).await[0].1, "delivered");
    let raw: String = sqlx::query_scalar("SELECT params FROM delivery_events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(raw.contains("ApiVersion"), "every parameter is kept: {raw}");
}

#[tokio::test]
async fn forged_unsigned_and_altered_callbacks_get_403_and_write_nothing() {
    let app = spawn_app().await;
    let (path, sid) = sent_message(&app).await;
    let url = format!("{}{path}", app.address);
    let params = delivered(&app, &sid);
    let genuine = sign(&app.account.auth_token, &url, &params);

    let forged = post(
        &app,
        &path,
        &params,
        Some(sign("not the token", &url, &params)),
    )
    .await;
    let unsigned = post(&app, &path, &params, None).await;
    // A real signature replayed with a changed parameter.
    let mut altered = params.clone();
    altered[2] = ("MessageStatus", "undelivered");
    let replayed = post(&app, &path, &altered, Some(genuine.clone())).await;
    // ...or an added one, or to another URL.
    let mut added = params.clone();
    added.push(("ErrorCode", "30003"));
    let extended = post(&app, &path, &added, Some(genuine.clone())).await;
    let elsewhere = post(&app, &path.replace("?m=", "?m=9"), &params, Some(genuine)).await;

    for (what, posted) in [
        ("forged", forged),
        ("unsigned", unsigned),
        ("replayed", replayed),
        ("extended", extended),
        ("elsewhere", elsewhere),
    ] {
        assert_eq!(posted.status, StatusCode::FORBIDDEN, "{what}");
    }
    assert_eq!(event_count(&app).await, 0);
    assert_eq!(states(&app).await[0].1, "sent");
}

#[tokio::test]
async fn unknown_organisations_get_404_and_malformed_bodies_400() {
    let app = spawn_app().await;
    let (path, sid) = sent_message(&app).await;

    let unknown = post(
        &app,
        "/webhooks/twilio/status/no-such-organisation",
        &delivered(&app, &sid),
        Some("x".into()),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let json = app
        .client
        .post(format!("{}{path}", app.address))
        .header("X-Twilio-Signature", "x")
        .json(&serde_json::json!({ "MessageSid": sid }))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), StatusCode::BAD_REQUEST);

    // Signed correctly, but not a status callback.
    let params = [
        ("AccountSid", app.account.sid.as_str()),
        ("MessageStatus", "sent"),
    ];
    let no_sid = post_signed(&app, &path, &params).await;
    assert_eq!(no_sid.status, StatusCode::BAD_REQUEST);
    assert!(no_sid.body.contains("MessageSid"), "{}", no_sid.body);
    assert_eq!(event_count(&app).await, 0);
}

#[tokio::test]
async fn unknown_statuses_are_kept_raw_and_change_nothing() {
    let app = spawn_app().await;
    let (path, sid) = sent_message(&app).await;
    let params = [
        ("MessageSid", sid.as_str()),
        ("MessageStatus", "partially_delivered"),
    ];

    let posted = post_signed(&app, &path, &params).await;

    assert_eq!(posted.status, StatusCode::OK);
    assert_eq!(event_count(&app).await, 1);
    assert_eq!(states(&app).await[0].1, "sent");
}

/// Every message Outreach sends names itself in its callback URL. A
/// callback without that (say, a Messaging Service's own callback URL
/// pointed here) is about no message Outreach sent: it is kept as Twilio
/// posted it, answered 200 so that Twilio does not retry, and moves nothing.
#[tokio::test]
async fn a_callback_to_a_url_naming_no_message_is_kept_raw_and_moves_nothing() {
    let app = spawn_app().await;
    let (path, sid) = sent_message(&app).await;
    let (without_message, _) = path.split_once('?').unwrap();
    let params = delivered(&app, &sid);

    let posted = post_signed(&app, without_message, &params).await;

    assert_eq!(posted.status, StatusCode::OK);
    let kept: (String, Option<i64>) =
        sqlx::query_as("SELECT message_status, message_id FROM delivery_events")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(kept, ("delivered".to_owned(), None));
    assert_eq!(states(&app).await[0].1, "sent");
    // The same callback to the message's own URL moves it.
    assert_eq!(
        post_signed(&app, &path, &params).await.status,
        StatusCode::OK
    );
    assert_eq!(states(&app).await[0].1, "delivered");
    assert_eq!(event_count(&app).await, 2);
}

#[tokio::test]
async fn the_signed_url_is_rebuilt_from_the_public_url_with_or_without_its_default_port() {
    let app = spawn_app_with(https_public_url).await;
    let (path, sid) = sent_message(&app).await;
    let params = delivered(&app, &sid);
    let token = &app.account.auth_token;

    // Signed for the address the request really reached (the Host header):
    // not what Twilio was given, so refused.
    let host = post(
        &app,
        &path,
        &params,
        Some(sign(token, &format!("{}{path}", app.address), &params)),
    )
    .await;
    assert_eq!(host.status, StatusCode::FORBIDDEN);
    // A spoofed Host header changes nothing either.
    let spoofed = app
        .client
        .post(format!("{}{path}", app.address))
        .header("Host", "evil.example")
        .header(
            "X-Twilio-Signature",
            sign(token, &format!("http://evil.example{path}"), &params),
        )
        .form(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(spoofed.status(), StatusCode::FORBIDDEN);

    let with_port = post(
        &app,
        &path,
        &params,
        Some(sign(token, &format!("{PUBLIC}:443{path}"), &params)),
    )
    .await;
    assert_eq!(with_port.status, StatusCode::OK);
    let without_port = post(
        &app,
        &path,
        &params,
        Some(sign(token, &format!("{PUBLIC}{path}"), &params)),
    )
    .await;
    assert_eq!(
        without_port.status,
        StatusCode::OK,
        "a duplicate is still answered 200"
    );
    assert_eq!(event_count(&app).await, 1, "the duplicate was ignored");
    assert_eq!(states(&app).await[0].1, "delivered");
}

#[tokio::test]
async fn stop_and_start_replies_opt_a_number_out_and_back_in() {
    let app = spawn_app().await;
    let admin = configured_organisation(&app).await;
    let public_id = app
        .organisation(domain::ids::OrganisationId(1))
        .await
        .public_id;
    let path = format!("/webhooks/twilio/inbound/{public_id}");
    let url = format!("{}{path}", app.address);
    // The Org Admin is shown the URL to give Twilio.
    let settings = app
        .get("/outreach/settings/sms", Some(&admin))
        .await
        .text()
        .await
        .unwrap();
    assert!(settings.contains(&url), "the settings page shows {url}");
    let token = app.account.auth_token.clone();
    // Each reply is a message Twilio received, with its own SID.
    let reply = |body: &str| {
        let sid = app
            .twilio
            .receive_message(&app.account.sid, "+14155552671", body, domain::clock::now())
            .sid;
        inbound_params("+14155552671", body, &sid)
    };
    let opted_out = || async {
        sqlx::query_as::<_, (String, String)>("SELECT phone, source FROM opt_outs")
            .fetch_all(&app.pool)
            .await
            .unwrap()
    };

    let forged_reply = reply("STOP");
    let forged = post(
        &app,
        &path,
        &pairs(&forged_reply),
        Some(sign("wrong", &url, &pairs(&forged_reply))),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(opted_out().await.is_empty());

    let stop = post_reply(&app, &path, &pairs(&reply("Stop")), &token).await;
    assert_eq!(stop.status, StatusCode::OK);
    assert!(stop.body.contains("<Response>"), "an empty TwiML answer");
    assert_eq!(
        opted_out().await,
        [("+14155552671".to_owned(), "stop_reply".to_owned())]
    );
    // A new audience leaves the number out.
    let preview: app::campaigns::AudiencePreview = app
        .call_json(
            "preview_audience",
            &admin,
            serde_json::json!({ "audience": "+14155552671\n+12127365000\n" }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!((preview.recipients, preview.opted_out), (1, 1));

    let chatter = post_reply(&app, &path, &pairs(&reply("thanks!")), &token).await;
    assert_eq!(chatter.status, StatusCode::OK);
    assert_eq!(opted_out().await.len(), 1);

    let start = post_reply(&app, &path, &pairs(&reply("START")), &token).await;
    assert_eq!(start.status, StatusCode::OK);
    assert!(opted_out().await.is_empty());
}

/// Posts an inbound message signed with `token`, over the URL it reaches.
async fn post_reply(app: &TestApp, path: &str, params: &[(&str, &str)], token: &str) -> Posted {
    let url = format!("{}{path}", app.address);
    post(app, path, params, Some(sign(token, &url, params))).await
}

/// An inbound message's webhook parameters.
fn inbound_params(from: &str, body: &str, sid: &str) -> Vec<(String, String)> {
    [
        ("From", from),
        ("To", "+15005550006"),
        ("Body", body),
        ("MessageSid", sid),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn pairs(params: &[(String, String)]) -> Vec<(&str, &str)> {
    params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[tokio::test]
async fn a_replayed_stop_changes_nothing_and_an_older_keyword_never_overrides_a_newer_one() {
    let app = spawn_app().await;
    configured_organisation(&app).await;
    let public_id = app
        .organisation(domain::ids::OrganisationId(1))
        .await
        .public_id;
    let path = format!("/webhooks/twilio/inbound/{public_id}");
    let token = app.account.auth_token.clone();
    let from = "+14155552671";
    let now = domain::clock::now();
    // Messages Twilio received at these times.
    let message = |body: &str, at: i64| {
        let sid = app
            .twilio
            .receive_message(&app.account.sid, from, body, at)
            .sid;
        inbound_params(from, body, &sid)
    };
    let send = |params: Vec<(String, String)>| {
        let (app, path, token) = (&app, path.clone(), token.clone());
        async move { post_reply(app, &path, &pairs(&params), &token).await.status }
    };
    let opted_out = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM opt_outs")
            .fetch_one(&app.pool)
            .await
            .unwrap()
            == 1
    };
    let stop = message("STOP", now - 120);
    let start = message("START", now - 60);
    let older_stop = message("STOP", now - 90);

    assert_eq!(send(stop.clone()).await, StatusCode::OK);
    assert!(opted_out().await);
    assert_eq!(send(start).await, StatusCode::OK);
    assert!(!opted_out().await);

    // The first STOP's webhook again: the same message, nothing changes.
    assert_eq!(send(stop).await, StatusCode::OK);
    assert!(
        !opted_out().await,
        "a replayed STOP opted the number out again"
    );
    // A STOP sent before the START, arriving after it: START stands.
    assert_eq!(send(older_stop).await, StatusCode::OK);
    assert!(!opted_out().await, "an older STOP overrode a newer START");
    // A new STOP, sent now, applies.
    assert_eq!(send(message("STOP", now)).await, StatusCode::OK);
    assert!(opted_out().await);
}

#[tokio::test]
async fn a_token_saved_a_moment_ago_verifies_callbacks_at_once_and_the_old_one_no_longer_does() {
    let app = spawn_app().await;
    without_callbacks(&app);
    let admin = configured_organisation(&app).await;
    run_campaign_to(&app, &admin, "Hooks", &numbers(1)).await;
    wait_until("the message sent", Duration::from_secs(10), || async {
        states(&app).await[0].1 == "sent"
    })
    .await;
    let path = status_path(&app);
    let sid = app.twilio.messages()[0].sid.clone();
    let sent = [
        ("AccountSid", app.account.sid.as_str()),
        ("MessageSid", sid.as_str()),
        ("MessageStatus", "sent"),
    ];
    // The organisation's key is now kept in memory for a few seconds.
    assert_eq!(post_signed(&app, &path, &sent).await.status, StatusCode::OK);

    let new_token = app.twilio.rotate_token(&app.account.sid);
    let saved = save_new_auth_token(&app, &admin, &new_token).await;
    assert_eq!(saved.status(), StatusCode::OK);

    // Twilio signs with the new token at once: believed at once.
    let url = format!("{}{path}", app.address);
    let params = delivered(&app, &sid);
    let posted = post(&app, &path, &params, Some(sign(&new_token, &url, &params))).await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);
    assert_eq!(states(&app).await[0].1, "delivered");
    // The replaced token verifies nothing any more.
    let events = event_count(&app).await;
    let undelivered = [
        ("AccountSid", app.account.sid.as_str()),
        ("MessageSid", sid.as_str()),
        ("MessageStatus", "undelivered"),
    ];
    let forged = post_signed(&app, &path, &undelivered).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(event_count(&app).await, events);
}

#[tokio::test]
async fn replies_are_kept_with_the_campaign_that_last_messaged_the_number_and_shown_on_its_page() {
    let app = spawn_app().await;
    let admin = configured_organisation(&app).await;
    let recipients = numbers(2);
    let earlier = run_campaign_to(&app, &admin, "Earlier appeal", &recipients[..1]).await;
    wait_until(
        "the first campaign sent",
        Duration::from_secs(10),
        || async {
            states(&app)
                .await
                .iter()
                .all(|(_, s, _)| s != "queued" && s != "sending")
        },
    )
    .await;
    let latest = run_campaign_to(&app, &admin, "Latest appeal", &recipients).await;
    wait_until(
        "the second campaign sent",
        Duration::from_secs(10),
        || async {
            states(&app)
                .await
                .iter()
                .all(|(_, s, _)| s != "queued" && s != "sending")
        },
    )
    .await;
    let public_id = app
        .organisation(domain::ids::OrganisationId(1))
        .await
        .public_id;
    let path = format!("/webhooks/twilio/inbound/{public_id}");
    let token = app.account.auth_token.clone();
    let reply = |from: &str, body: &str| {
        let sid = app
            .twilio
            .receive_message(&app.account.sid, from, body, domain::clock::now())
            .sid;
        inbound_params(from, body, &sid)
    };
    let thanks = reply(&recipients[0], "Thanks <b>, I'll be there");
    let help = reply(&recipients[1], "HELP");
    let stranger = reply("+12125550199", "Who is this?");

    for params in [&thanks, &help, &stranger, &thanks] {
        let posted = post_reply(&app, &path, &pairs(params), &token).await;
        assert_eq!(posted.status, StatusCode::OK);
    }

    let page = |id: i64| {
        let (app, admin) = (&app, admin.clone());
        async move {
            app.get(&format!("/outreach/campaigns/{id}"), Some(&admin))
                .await
                .text()
                .await
                .unwrap()
        }
    };
    let latest_page = page(latest).await;
    let earlier_page = page(earlier).await;
    // The replayed webhook is one reply, not two; the stranger's answers no
    // campaign; the text is shown as text.
    assert!(latest_page.contains("Replies (2)"), "{latest_page}");
    assert!(latest_page.contains("Thanks &lt;b&gt;, I"));
    assert!(!latest_page.contains("Thanks <b>"));
    assert!(latest_page.contains(">HELP<"));
    assert!(!latest_page.contains("Who is this?"));
    assert!(earlier_page.contains("Replies (0)"));

    // On the contact's page too, with the campaign each answered.
    let file = format!(
        "phone,first_name\n{},Ada\n+12125550199,Stranger\n",
        recipients[0]
    );
    let imported = app
        .call("import_contacts", Some(&admin), &[("file", &file)])
        .await;
    assert_eq!(imported.status(), StatusCode::OK);
    let contact_page = |phone: &str| {
        let (app, admin) = (&app, admin.clone());
        let path = format!("/outreach/contacts/{}", phone.replace('+', "%2B"));
        async move { app.get(&path, Some(&admin)).await.text().await.unwrap() }
    };
    let ada = contact_page(&recipients[0]).await;
    assert!(
        ada.contains("Ada (") && ada.contains("Replies (1)"),
        "{ada}"
    );
    assert!(ada.contains("Thanks &lt;b&gt;, I") && ada.contains("Latest appeal"));
    let stranger = contact_page("+12125550199").await;
    assert!(stranger.contains("Who is this?") && !stranger.contains("answering"));
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbound_messages")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 3);
}

#[tokio::test]
async fn with_advanced_opt_out_twilios_opt_out_type_decides_whatever_the_words() {
    let app = spawn_app().await;
    configured_organisation(&app).await;
    let public_id = app
        .organisation(domain::ids::OrganisationId(1))
        .await
        .public_id;
    let path = format!("/webhooks/twilio/inbound/{public_id}");
    let token = app.account.auth_token.clone();
    let from = "+14155552671";
    let message = |body: &str, opt_out_type: &str| {
        let sid = app
            .twilio
            .receive_message(&app.account.sid, from, body, domain::clock::now())
            .sid;
        let mut params = inbound_params(from, body, &sid);
        params.push(("OptOutType".to_owned(), opt_out_type.to_owned()));
        params
    };
    let opted_out = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM opt_outs")
            .fetch_one(&app.pool)
            .await
            .unwrap()
            == 1
    };

    // The Messaging Service's own keywords, in French.
    post_reply(&app, &path, &pairs(&message("ARRET", "STOP")), &token).await;
    assert!(opted_out().await);
    post_reply(&app, &path, &pairs(&message("AIDE", "HELP")), &token).await;
    assert!(opted_out().await);
    post_reply(&app, &path, &pairs(&message("COMMENCER", "START")), &token).await;
    assert!(!opted_out().await);

    let kinds: Vec<String> =
        sqlx::query_scalar("SELECT kind FROM inbound_messages ORDER BY received_at, body")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let mut kinds = kinds;
    kinds.sort();
    assert_eq!(kinds, ["help", "opt_in", "opt_out"]);
}
