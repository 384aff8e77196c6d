// A campaigner runs a campaign in demo mode (its in-process Twilio
// simulator delivers and posts signed status callbacks) and watches it
// complete on the campaign page, then in the list.
import * as fs from "node:fs";
import * as path from "node:path";
import { type Page } from "@playwright/test";
import { audit, expect, expectNoSidewaysScroll, hydrated, test, words } from "./helpers";

const demo = process.env.E2E_DEMO_URL as string;

interface DemoCredentials {
  admin_password: string;
  campaigner_password: string;
  twilio_account_sid: string;
  twilio_auth_token: string;
  twilio_messaging_service_sid: string;
}

function credentials(): DemoCredentials {
  const file = path.join(process.env.E2E_DEMO_DIR as string, "demo-credentials.json");
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

async function signIn(page: Page, email: string, password: string) {
  await page.goto(`${demo}/login`);
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Campaigns" })).toBeVisible();
}

test("a campaigner runs a campaign in demo mode and watches it complete", async ({ page, context }) => {
  test.setTimeout(90_000);
  const demoCredentials = credentials();

  // The Org Admin saves the simulated Twilio credentials the demo printed.
  await signIn(page, "admin@demo.outreach.test", demoCredentials.admin_password);
  await page.goto(`${demo}/outreach/settings/sms`);
  await hydrated(page);
  const panel = page.getByRole("region", { name: "Twilio Integration" });
  await panel.getByRole("button", { name: "Edit" }).click();
  await page.getByRole("textbox", { name: "Account SID", exact: true }).fill(demoCredentials.twilio_account_sid);
  await page.getByLabel("Auth Token", { exact: true }).fill(demoCredentials.twilio_auth_token);
  await page.getByRole("textbox", { name: "Messaging Service SID", exact: true }).fill(demoCredentials.twilio_messaging_service_sid);
  await page.getByRole("button", { name: "Save" }).click();
  await expect(panel.getByText("Valid", { exact: true })).toBeVisible();
  await context.clearCookies();

  // The campaigner creates the campaign through the wizard.
  await signIn(page, "campaigner@demo.outreach.test", demoCredentials.campaigner_password);
  await page.getByRole("link", { name: "New campaign" }).click();
  await hydrated(page);
  await page.getByLabel("Campaign name").fill("Demo get-out-the-vote");
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByRole("group", { name: "Delivery channel" }).getByRole("radio", { name: "SMS" }).check();
  await page.getByRole("button", { name: "Next" }).click();
  // Twelve voters, and Twilio's test number for a recipient who replied STOP.
  const voters = Array.from({ length: 12 }, (_, i) => `+1415555${2600 + i},Voter ${i + 1}`);
  const audience = ["phone,first_name", ...voters, "+15005550004,Unsubscribed"].join("\n");
  await page.getByLabel("Phone numbers or CSV").fill(audience);
  await page.getByRole("button", { name: "Check audience" }).click();
  await expect(page.getByText(words("13 recipients"))).toBeVisible();
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByRole("textbox", { name: "Message", exact: true }).fill("Hi {first_name|there}, polls are open until 8pm.");
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByRole("button", { name: "Create campaign" }).click();
  await expect(page.getByRole("heading", { name: "Demo get-out-the-vote" })).toBeVisible();
  await hydrated(page);

  // Run it, and watch: the page refreshes itself until every message is delivered.
  await page.getByRole("button", { name: "Run campaign" }).click();
  await page.getByRole("button", { name: "Start sending" }).click();
  const progress = page.getByRole("region", { name: "Progress" });
  await expect(progress).toBeVisible();
  await expect(progress.getByText(words("13 of 13 messages have a final status (100%)"))).toBeVisible({ timeout: 30_000 });
  await expect(page.getByText("Completed", { exact: true })).toBeVisible();
  const delivered = progress.locator(".counts div").filter({ has: page.getByText("Delivered", { exact: true }) });
  await expect(delivered.locator("dd")).toHaveText("12");
  const optedOut = progress.locator(".counts div").filter({ has: page.getByText("Opted out", { exact: true }) });
  await expect(optedOut.locator("dd")).toHaveText("1");
  // Each recipient's status, and the reason in words when it did not arrive.
  const recipients = page.getByRole("region", { name: "Recipients" });
  await expect(recipients.getByRole("row")).toHaveCount(14);
  const unsubscribed = recipients.getByRole("row").filter({ hasText: words("+15005550004") });
  await expect(unsubscribed).toContainText("Opted out");
  await expect(unsubscribed).toContainText("The recipient has opted out (replied STOP)");
  await expect(recipients.getByRole("row").filter({ hasText: words("+14155552600") })).toContainText("Delivered");
  await audit(page);
  // On a phone: nothing wider than the screen, and still accessible.
  await page.setViewportSize({ width: 360, height: 740 });
  await expectNoSidewaysScroll(page);
  await audit(page);
  await page.setViewportSize({ width: 1280, height: 720 });

  // The export has every recipient's result.
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Export results (CSV)" }).click(),
  ]);
  const csv = fs.readFileSync(await download.path(), "utf8").trim().split("\n");
  expect(csv[0]).toBe("phone,status,reason,twilio_status,error_code,message_sid,attempts,updated_at_utc");
  expect(csv).toHaveLength(14);
  expect(csv.filter((line) => line.includes(",delivered,"))).toHaveLength(12);
  expect(csv.find((line) => line.startsWith("+15005550004,"))).toContain(",opted_out,");

  // The list shows the same counts.
  await page.getByRole("link", { name: "Campaigns", exact: true }).click();
  const row = page.getByRole("row").filter({ hasText: words("Demo get-out-the-vote") });
  await expect(row).toContainText("Completed");
  await expect(row).toContainText("12 delivered, 1 opted out");
  await audit(page);
});
