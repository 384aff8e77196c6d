//! Quiet hours as they apply to one campaign: which of its recipients'
//! zones are held back now and until when, and how many messages wait.
//! (An Org Admin's exemption is written by `store`, which writes
//! `campaigns`.)

use anyhow::Context;
use sqlx::FromRow;

use crate::{
    clock::UnixTime, db::Pool, ids::CampaignId, organisations::OrganisationId,
    quiet_hours::QuietHours,
};

/// Quiet hours as they apply to one campaign's recipients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignQuietHours {
    pub hours: QuietHours,
    pub organisation_zone: String,
    /// Where its recipients' quiet hours are read: a zone, or `None` for
    /// the organisation's. Known once it has started.
    pub recipient_zones: Vec<Option<String>>,
}

impl CampaignQuietHours {
    /// `None` when the organisation has no quiet hours.
    /// `recipient_zones` is the JSON `run_campaign` wrote; unreadable, it
    /// reads as "every zone is the organisation's", which holds messages
    /// back rather than sending them at night.
    pub fn from_stored(
        from: Option<i64>,
        until: Option<i64>,
        organisation_zone: &str,
        recipient_zones: &str,
    ) -> Option<Self> {
        Some(Self {
            hours: QuietHours::from_stored(from, until)?,
            organisation_zone: organisation_zone.to_owned(),
            recipient_zones: serde_json::from_str(recipient_zones).unwrap_or_else(|_| vec![None]),
        })
    }

    /// The recipients' zones where the window holds messages back at
    /// `now`, with when it ends there.
    pub fn waiting(&self, now: UnixTime) -> Vec<(Option<&str>, UnixTime)> {
        self.recipient_zones
            .iter()
            .filter_map(|zone| {
                let zone = zone.as_deref();
                self.hours
                    .waits_until(self.zone_name(zone), now)
                    .map(|until| (zone, until))
            })
            .collect()
    }

    /// The recipients' zones that may be sent to at `now`.
    pub fn open(&self, now: UnixTime) -> Vec<Option<&str>> {
        self.recipient_zones
            .iter()
            .map(Option::as_deref)
            .filter(|zone| self.hours.waits_until(self.zone_name(*zone), now).is_none())
            .collect()
    }

    fn zone_name<'a>(&'a self, zone: Option<&'a str>) -> &'a str {
        zone.unwrap_or(&self.organisation_zone)
    }
}

#[derive(FromRow)]
struct QuietHoursRow {
    quiet_hours_from: Option<i64>,
    quiet_hours_until: Option<i64>,
    time_zone: String,
    quiet_hours_exempt: i64,
    recipient_zones: String,
}

/// The organisation's campaign's quiet hours, and whether it is exempt
/// from them; `None` when the organisation has none (or the campaign is
/// not its own).
pub async fn of_campaign(
    pool: &Pool,
    organisation: OrganisationId,
    id: CampaignId,
) -> anyhow::Result<Option<(CampaignQuietHours, bool)>> {
    let row = sqlx::query_as::<_, QuietHoursRow>(
        "SELECT o.quiet_hours_from, o.quiet_hours_until, o.time_zone,
                c.quiet_hours_exempt, c.recipient_zones
         FROM campaigns c JOIN organisations o ON o.id = c.organisation_id
         WHERE c.id = $1 AND c.organisation_id = $2",
    )
    .bind(id)
    .bind(organisation)
    .fetch_optional(pool)
    .await
    .context("could not read the campaign's quiet hours")?;
    Ok(row.and_then(|row| {
        CampaignQuietHours::from_stored(
            row.quiet_hours_from,
            row.quiet_hours_until,
            &row.time_zone,
            &row.recipient_zones,
        )
        .map(|quiet| (quiet, row.quiet_hours_exempt == 1))
    }))
}

/// How many of the campaign's messages are queued, by their recipients'
/// zone (`None`: the organisation's), from the campaign's counts.
pub async fn queued_by_zone(
    pool: &Pool,
    id: CampaignId,
) -> anyhow::Result<Vec<(Option<String>, i64)>> {
    Ok(crate::outbound::counts_by_zone(pool, id)
        .await?
        .into_iter()
        .filter(|(state, _, _)| *state == crate::twilio::status::MessageState::Queued)
        .map(|(_, zone, n)| (zone, n))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    // 30 Nov 2026 at 12:00 UTC: 06:00 in Chicago, 12:00 in London, 21:00
    // in Tokyo.
    const NOON_UTC: UnixTime = 1_796_040_000;

    #[test]
    fn each_recipients_zone_waits_or_sends_by_its_own_clock() {
        let quiet = CampaignQuietHours::from_stored(
            Some(21 * 60),
            Some(9 * 60),
            "America/Chicago",
            r#"[null, "Asia/Tokyo", "Europe/London"]"#,
        )
        .unwrap();
        assert_eq!(
            quiet.waiting(NOON_UTC),
            vec![
                (None, NOON_UTC + 3 * 3600),
                (Some("Asia/Tokyo"), NOON_UTC + 12 * 3600)
            ]
        );
        assert_eq!(quiet.open(NOON_UTC), vec![Some("Europe/London")]);
        // At 15:00 UTC it is 09:00 in Chicago: only Tokyo waits.
        assert_eq!(
            quiet.open(NOON_UTC + 3 * 3600),
            vec![None, Some("Europe/London")]
        );
        // No quiet hours, or zones that cannot be read.
        assert_eq!(
            CampaignQuietHours::from_stored(None, None, "UTC", "[null]"),
            None
        );
        let unreadable =
            CampaignQuietHours::from_stored(Some(0), Some(60), "UTC", "not json").unwrap();
        assert_eq!(unreadable.recipient_zones, vec![None]);
    }
}
