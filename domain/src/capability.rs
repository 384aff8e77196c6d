//! The rule at the centre: what campaigners may do with SMS, straight from
//! the "Impact on Campaigners" table of the SMS Configuration help page.
//! The UI renders from it; every server function and worker enforces it.

use serde::{Deserialize, Serialize};

/// The configuration state the table is keyed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsConfiguration {
    NoCredentials,
    InvalidCredentials,
    ValidWithoutMessagingService,
    ValidWithMessagingService,
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsCapability {
    pub sms_option_enabled: bool,
    pub can_create: bool,
    pub run: RunPermission,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunPermission {
    Allowed,
    NeedsCredentials,
    NeedsValidCredentials,
    NeedsMessagingService,
}

impl RunPermission {
    /// Why running is not possible, in the help page's words.
    pub fn reason(self) -> Option<&'static str> {
        match self {
            Self::Allowed => None,
            Self::NeedsCredentials => Some(
                "SMS is not configured: an Org Admin must save Twilio credentials in Outreach > Settings > SMS.",
            ),
            Self::NeedsValidCredentials => Some(
                "The saved Twilio credentials are invalid: an Org Admin must update them in Outreach > Settings > SMS.",
            ),
            // The help page's words, exactly.
            Self::NeedsMessagingService => {
                Some("A Messaging Service SID is required to run SMS campaigns.")
            }
        }
    }
}

pub fn sms_capability(configuration: SmsConfiguration) -> SmsCapability {
    use SmsConfiguration::*;
    match configuration {
        NoCredentials => SmsCapability {
            sms_option_enabled: false,
            can_create: false,
            run: RunPermission::NeedsCredentials,
        },
        InvalidCredentials => SmsCapability {
            sms_option_enabled: false,
            can_create: false,
            run: RunPermission::NeedsValidCredentials,
        },
        ValidWithoutMessagingService => SmsCapability {
            sms_option_enabled: true,
            can_create: true,
            run: RunPermission::NeedsMessagingService,
        },
        ValidWithMessagingService => SmsCapability {
            sms_option_enabled: true,
            can_create: true,
            run: RunPermission::Allowed,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::{SmsConfiguration::*, *};

    #[test]
    fn the_four_rows_of_the_help_pages_table() {
        // (state, SMS option in wizard, can create, can run)
        let table = [
            (NoCredentials, false, false, false),
            (InvalidCredentials, false, false, false),
            (ValidWithoutMessagingService, true, true, false),
            (ValidWithMessagingService, true, true, true),
        ];
        for (state, option, create, run) in table {
            let capability = sms_capability(state);
            assert_eq!(capability.sms_option_enabled, option, "{state:?}");
            assert_eq!(capability.can_create, create, "{state:?}");
            assert_eq!(capability.run == RunPermission::Allowed, run, "{state:?}");
        }
    }

    #[test]
    fn without_a_messaging_service_the_reason_is_the_help_pages_sentence() {
        let capability = sms_capability(ValidWithoutMessagingService);
        assert_eq!(
            capability.run.reason(),
            Some("A Messaging Service SID is required to run SMS campaigns.")
        );
    }
}
