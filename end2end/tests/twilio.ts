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

export interface FreshAccount {
  account_sid: string;
  auth_token: string;
  messaging_service_sid: string;
}

/** A new Twilio account with one Messaging Service, for specs that break or leave it. */
export async function newAccount(): Promise<FreshAccount> {
  const response = await fetch(`${twilio().url}/_simulator/accounts`, { method: "POST" });
  if (!response.ok) throw new Error(`creating an account failed: ${response.status}`);
  return response.json();
}

/** What deleting a Messaging Service in the Twilio Console does. */
export async function deleteService(serviceSid: string) {
  const response = await fetch(`${twilio().url}/_simulator/services/${serviceSid}`, { method: "DELETE" });
  if (!response.ok) throw new Error(`deleting the service failed: ${response.status}`);
}
