// Contacts imported from a CSV, a list of them, an opt-out added by hand,
// a campaign sent to the list that honours it, and a reply shown on the
// campaign and on the contact.
import { createHmac } from "node:crypto";
import { apiSessionWithTwilio, audit, expect, hydrated, signIn, test, words } from "./helpers";
import { twilio } from "./twilio";

const PEOPLE = ["phone,first_name,last_name,ward", "+12127366101,Ada,Lovelace,North", "+12127366102,Grace,Hopper,South", "+12127366103,Alan,Turing,North"].join("\n");

/** Twilio's X-Twilio-Signature: HMAC-SHA1 of the URL and the sorted parameters, with the Auth Token. */
function signature(token: string, url: string, params: Record<string, string>): string {
  const data = url + Object.keys(params).sort().map((key) => key + params[key]).join("");
  return createHmac("sha1", token).update(data).digest("base64");
}

test("contacts are imported, listed, messaged as a list that honours an opt-out, and their reply is shown", async ({ page }) => {
  // Many pages, three axe audits and a campaign sent: 18 s alone, 34 s beside
  // another worker on two cores (2026-11-30).
  test.setTimeout(60_000);
  const t = twilio();
  const admin = await apiSessionWithTwilio("admin@contacts.test");

  // Import: checked first, then saved.
  await signIn(page, "campaigner@contacts.test");
  const nav = page.getByRole("navigation", { name: "Main" });
  await nav.getByRole("link", { name: "Contacts" }).click();
  await hydrated(page);
  await expect(page.getByText("No contacts yet: import them from a CSV below.")).toBeVisible();
  await page.getByLabel("Contacts CSV").fill(PEOPLE);
  await page.getByRole("button", { name: "Check contacts" }).click();
  await expect(page.getByText("Ready to import: 3 new contacts, 0 to update")).toBeVisible();
  await page.getByRole("button", { name: "Import contacts" }).click();
  await expect(page.getByText("Imported: 3 new contacts, 0 updated")).toBeVisible();
  await expect(page.getByText("3 contacts", { exact: true })).toBeVisible();
  await expect(page.getByRole("row", { name: /\+12127366102/ })).toContainText("Grace Hopper");
  await page.getByLabel("Search by number or name").fill("turing");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await expect(page.getByText("1 contact", { exact: true })).toBeVisible();
  await audit(page);

  // A list, filled from the same file: the contacts are updated, not doubled.
  await nav.getByRole("link", { name: "Lists" }).click();
  await hydrated(page);
  await page.getByLabel("Name", { exact: true }).fill("North and South");
  await page.getByRole("button", { name: "Create list" }).click();
  await page.getByRole("link", { name: "North and South" }).click();
  await hydrated(page);
  await page.getByLabel("Contacts CSV").fill(PEOPLE);
  await page.getByRole("button", { name: "Import into list" }).click();
  await expect(page.getByText("Imported: 0 new contacts, 3 updated")).toBeVisible();
  await expect(page.getByRole("heading", { name: "Members (3)" })).toBeVisible();
  await audit(page);

  // An opt-out added by hand is marked on Contacts.
  await nav.getByRole("link", { name: "Opt-outs" }).click();
  await hydrated(page);
  await page.getByLabel("Phone number", { exact: true }).fill("+12127366103");
  await page.getByRole("button", { name: "Add opt-out" }).click();
  await expect(page.getByRole("status")).toHaveText("Added: this number will not be messaged.");
  await nav.getByRole("link", { name: "Contacts" }).click();
  await expect(page.getByRole("row", { name: /\+12127366103/ })).toContainText("Opted out");

  // A campaign to the list: its opted-out member is left out.
  await nav.getByRole("link", { name: "Campaigns" }).click();
  await page.getByRole("link", { name: "New campaign" }).click();
  await hydrated(page);
  await page.getByLabel("Campaign name").fill("To the list");
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByRole("group", { name: "Delivery channel" }).getByRole("radio", { name: "SMS" }).check();
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByRole("group", { name: "Your lists" }).getByRole("checkbox", { name: "North and South (3 members)" }).check();
  await page.getByRole("button", { name: "Use these lists" }).click();
  await expect(page.getByText("2 recipients", { exact: true })).toBeVisible();
  await expect(page.getByRole("status")).toContainText("1 opted out excluded");
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByRole("textbox", { name: "Message", exact: true }).fill("Hi {first_name}, see you Saturday.");
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByRole("button", { name: "Send now" }).click();
  await expect(page.getByRole("heading", { name: "To the list", level: 1 })).toBeVisible();
  await hydrated(page);
  await expect(page.getByText("Completed", { exact: true })).toBeVisible({ timeout: 30_000 });
  const campaignUrl = page.url();

  // Ada replies: Twilio posts the signed webhook.
  const settings = await (await admin.post("/api/sms_settings")).json();
  const url: string = settings.inbound_webhook_url;
  const params = { MessageSid: `SM${"e2e".padEnd(32, "0")}`, From: "+12127366101", To: "+15005550006", Body: "Count me in!" };
  const posted = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature(t.auth_token, url, params) },
    body: new URLSearchParams(params).toString(),
  });
  expect(posted.status).toBe(200);

  await page.goto(campaignUrl);
  await hydrated(page);
  await expect(page.getByText(words("Replies (1)"))).toBeVisible();
  await expect(page.getByText("Count me in!")).toBeVisible();
  await page.goto("/outreach/contacts");
  await page.getByRole("link", { name: "+12127366101" }).click();
  await expect(page.getByRole("heading", { name: "Ada Lovelace (+12127366101)" })).toBeVisible();
  await expect(page.getByText("Count me in!")).toBeVisible();
  await expect(page.getByRole("link", { name: "To the list" })).toBeVisible();
  await audit(page);
});
