import { readFileSync } from "node:fs";

/** What the Twilio simulator was seeded with (see `outreach twilio-sim`). */
export interface SimulatedTwilio {
  url: string;
  account_sid: string;
  auth_token: string;
  messaging_service_sid: string;
  second_messaging_service_sid: string;
  trial_account_sid: string;
  trial_auth_token: string;
  other_account_sid: string;
  other_auth_token: string;
  other_accounts_messaging_service_sid: string;
  forbidden_messaging_service_sid: string;
}

export function twilio(): SimulatedTwilio {
  return JSON.parse(readFileSync(process.env.E2E_TWILIO_ACCOUNTS!, "utf8"));
}

/** What an Org Admin does in the Twilio Console: the old token stops working. */
export async function rotateToken(accountSid: string): Promise<string> {
  const response = await fetch(`${twilio().url}/_simulator/accounts/${accountSid}/rotate-token`, { method: "POST" });
  if (!response.ok) throw new Error(`rotating the token failed: ${response.status}`);
  return (await response.json()).auth_token;
}
