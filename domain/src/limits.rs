//! Every limit on what people (or anyone on the internet) can send
//! Outreach, in one place. One organisation shares the server with the
//! others: nothing it sends may take unbounded memory or time. README's
//! "Limits" table lists these; keep the two in step.

/// A campaign's message as written: Twilio's own limit for one message.
pub const MAX_BODY_CHARS: usize = 1600;
/// A message with a recipient's values filled in: what Twilio accepts.
pub const MAX_RENDERED_CHARS: usize = 1600;
/// A campaign's name.
pub const MAX_CAMPAIGN_NAME_CHARS: usize = 100;

/// Recipients in one audience (after duplicates and invalid rows).
pub const MAX_RECIPIENTS: usize = 1_000_000;
/// Rows read from one audience, invalid and duplicate ones included.
pub const MAX_AUDIENCE_ROWS: usize = 1_200_000;
/// Pasted or uploaded audience text: a million recipients with a phone
/// number and a first name (about 24 MB), or fewer with more columns. The
/// server holds the request, its decoded text and the parsed audience at
/// once, so this bounds its memory (under 300 MB at the limit, measured by
/// the hostile-tenant test).
pub const MAX_AUDIENCE_BYTES: usize = 28 * 1024 * 1024;
/// Columns of an audience CSV (the phone column included).
pub const MAX_COLUMNS: usize = 50;
/// One value (a cell of the CSV, or a placeholder value).
pub const MAX_FIELD_CHARS: usize = 500;
/// A column name, as normalised (`first_name`).
pub const MAX_COLUMN_NAME_CHARS: usize = 64;
/// Invalid rows listed in full; the rest are counted.
pub const LISTED_INVALID_ROWS: usize = 100;
/// What is read as a phone number: no real number is longer.
pub const MAX_PHONE_CHARS: usize = 64;

/// An email address (RFC 5321's path limit).
pub const MAX_EMAIL_CHARS: usize = 254;
/// A password: long passphrases welcome, megabytes to hash are not.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// Request bodies, by route: sign-in and webhooks are small; the audience
/// routes (checking, creating and editing a campaign) carry an audience
/// as JSON text, a little larger than the audience itself.
pub const SIGN_IN_REQUEST_BYTES: usize = 8 * 1024;
pub const WEBHOOK_REQUEST_BYTES: usize = 64 * 1024;
pub const AUDIENCE_REQUEST_BYTES: usize = 34 * 1024 * 1024;
pub const OTHER_REQUEST_BYTES: usize = 256 * 1024;
