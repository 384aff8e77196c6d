//! Property tests over every parser fed by people or by Twilio: whatever
//! the input, no panic, and what comes out is bounded. Each property runs
//! a fixed number of generated cases, so `make test` spends seconds here.

use std::collections::HashSet;

use domain::{
    campaigns::{
        audience::{E164Phone, parse_audience},
        message::{Template, count_segments},
    },
    delivery::{
        events::StatusCallback,
        signature::{posted_pairs, twilio_signature, verify_signature},
    },
    limits::{LISTED_INVALID_ROWS, MAX_RENDERED_CHARS},
    twilio::credentials::{AccountSid, AuthToken, MessagingServiceSid},
    twilio::{TwilioError, classify_error, redact_phone_numbers},
};
use proptest::prelude::*;
use reqwest::StatusCode;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text that looks like what people paste: numbers, names, delimiters,
/// quotes, blank lines, a BOM, and anything else.
fn pasted() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            "\\+?[0-9 ()-]{0,20}",
            "[A-Za-z ,;\t\"']{0,20}",
            Just("\n".to_owned()),
            Just("\r\n".to_owned()),
            Just("\u{feff}".to_owned()),
            Just("phone,first_name\n".to_owned()),
            ".{0,30}",
        ],
        0..200,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_audience_text_parses_to_bounded_recipients_without_panicking(text in pasted()) {
        if let Ok(audience) = parse_audience(&text, "US", &HashSet::new()) {
            prop_assert!(audience.invalid.len() <= LISTED_INVALID_ROWS);
            prop_assert!(audience.invalid.len() <= audience.invalid_total);
            prop_assert!(audience.recipients.len() <= text.lines().count() * 50 + 1);
            for recipient in &audience.recipients {
                prop_assert!(recipient.phone().as_str().starts_with('+'));
                prop_assert!(audience.fields(recipient).count() <= audience.columns.len());
            }
            for row in &audience.invalid {
                prop_assert!(row.value.chars().count() <= 81);
            }
        }
    }

    #[test]
    fn any_csv_keeps_its_values_in_their_columns(
        headers in prop::collection::vec("[a-z_]{1,8}", 1..6),
        rows in prop::collection::vec(prop::collection::vec("[^\u{1f}]{0,12}", 0..7), 0..40),
    ) {
        let mut csv = format!("phone,{}\n", headers.join(","));
        for (i, row) in rows.iter().enumerate() {
            let cells: Vec<String> = row.iter().map(|c| format!("\"{}\"", c.replace('"', "\"\""))).collect();
            csv.push_str(&format!("+1415555{:04},{}\n", 2000 + i, cells.join(",")));
        }
        if let Ok(audience) = parse_audience(&csv, "US", &HashSet::new()) {
            for recipient in &audience.recipients {
                for (column, value) in audience.fields(recipient) {
                    prop_assert!(audience.columns.iter().any(|c| c == column));
                    let separator = '\u{1f}';
                    prop_assert!(!value.contains(separator), "a value holds the separator");
                }
            }
        }
    }

    #[test]
    fn any_phone_number_text_is_read_or_refused_with_a_reason(raw in ".{0,100}") {
        match E164Phone::parse(&raw, "GB") {
            Ok(phone) => {
                prop_assert!(phone.as_str().starts_with('+'));
                prop_assert!(phone.as_str().len() <= 16);
            }
            Err(reason) => prop_assert!(!reason.to_string().is_empty()),
        }
    }

    #[test]
    fn rendering_any_template_is_bounded_by_the_limit(
        body in "([a-z {}|_]|\\{[a-z_]{1,6}(\\|[a-z ]{0,5})?\\}){0,400}",
        value in ".{0,600}",
    ) {
        let template = Template::parse(&body);
        match template.render(|_| Some(value.as_str()), MAX_RENDERED_CHARS) {
            Ok(message) => prop_assert!(message.chars().count() <= MAX_RENDERED_CHARS),
            Err(too_long) => prop_assert_eq!(too_long.max, MAX_RENDERED_CHARS),
        }
    }

    #[test]
    fn the_segment_counter_takes_any_text(body in ".{0,1700}") {
        let count = count_segments(&body);
        let characters = body.chars().count();
        prop_assert_eq!(count.characters, characters);
        prop_assert!(count.segments <= characters * 2 + 1);
        prop_assert_eq!(count.segments == 0, body.is_empty());
    }

    #[test]
    fn sids_parse_only_in_their_exact_shape(raw in "(AC|MG|ac|XX)?[0-9a-fA-F]{0,40}[ \t]{0,2}") {
        if let Ok(sid) = AccountSid::parse(&raw) {
            prop_assert!(sid.as_str().starts_with("AC") && sid.as_str().len() == 34);
            prop_assert_eq!(AccountSid::parse(sid.as_str()).unwrap(), sid);
        }
        if let Ok(sid) = MessagingServiceSid::parse(&raw) {
            prop_assert!(sid.as_str().starts_with("MG") && sid.as_str().len() == 34);
        }
        let _ = AuthToken::parse(raw.clone().into());
    }

    #[test]
    fn any_webhook_form_parses_or_is_refused(
        params in prop::collection::vec(
            (prop_oneof![Just("MessageSid".to_owned()), Just("MessageStatus".to_owned()), Just("ErrorCode".to_owned()), ".{0,12}"], ".{0,40}"),
            0..12,
        ),
        raw_body in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        if let Ok(callback) = StatusCallback::parse(&params) {
            prop_assert!(callback.message_sid().len() == 34);
            prop_assert!(!callback.message_status().is_empty());
        }
        // What the webhook route does with the raw body first.
        let _ = StatusCallback::parse(&posted_pairs(&raw_body));
    }

    #[test]
    fn only_the_true_signature_verifies(
        params in prop::collection::vec(("[A-Za-z]{1,10}", ".{0,20}"), 0..8),
        header in ".{0,60}",
        url_path in "[a-z/?=&]{0,30}",
    ) {
        let url = format!("https://outreach.example.org/{url_path}");
        let token = b"0123456789abcdef0123456789abcdef";
        let genuine = twilio_signature(token, &url, &params);
        prop_assert!(verify_signature(token, &url, &params, &genuine));
        if header != genuine {
            prop_assert!(!verify_signature(token, &url, &params, &header));
        }
    }

    #[test]
    fn any_twilio_error_body_is_classified_without_keeping_numbers(
        status in 400u16..600,
        body in prop::collection::vec(any::<u8>(), 0..400),
        message in ".{0,700}",
    ) {
        let status = StatusCode::from_u16(status).unwrap();
        let _ = classify_error(status, &body);
        let json = serde_json::json!({ "code": 21211, "message": format!("{message} +14155552671") });
        if let TwilioError::Api { message, .. } = classify_error(status, json.to_string().as_bytes()) {
            prop_assert!(message.chars().count() <= 600);
            prop_assert!(!message.contains("4155552671"));
        }
    }

    #[test]
    fn redaction_keeps_the_text_length_and_hides_long_numbers(text in ".{0,200}", number in "[0-9]{7,15}") {
        let redacted = redact_phone_numbers(&text);
        prop_assert_eq!(redacted.chars().count(), text.chars().count());
        let with_number = redact_phone_numbers(&format!("call +{number} now"));
        prop_assert!(!with_number.contains(&number));
    }
}
