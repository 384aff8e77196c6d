// Moving to another Twilio account, disconnecting Twilio, and what the Org
// Admin is told on the way (help page: "Editing Credentials").
import { type APIRequestContext, type Page } from "@playwright/test";
import { apiSession, audit, expect, expectNoSidewaysScroll, fill, hydrated, openSmsSettings, panel, section, signIn, test, words } from "./helpers";
import { deleteService, type FreshAccount, newAccount, rotateToken } from "./twilio";

test.describe.configure({ mode: "serial" });

const ADMIN = "admin@change.test";

async function saveEverything(api: APIRequestContext, account: FreshAccount) {
  const settings = await (await api.post("/api/sms_settings")).json();
  const response = await api.post("/api/save_twilio_integration", {
    form: {
      section: settings.integration ? "new_account" : "everything",
      account_sid: account.account_sid,
      auth_token: account.auth_token,
      messaging_service_sid: account.messaging_service_sid,
      version: String(settings.integration?.version ?? 0),
    },
  });
  expect(response.ok(), await response.text()).toBeTruthy();
}

/** axe in both colour schemes. */
async function auditBothSchemes(page: Page) {
  for (const colorScheme of ["dark", "light"] as const) {
    await page.emulateMedia({ colorScheme });
    await audit(page);
  }
}

test("an account whose token is dead and whose service is gone is replaced with Change Twilio account", async ({ page }) => {
  // Six axe audits (three states, two colour schemes): 16 s alone, over 30 s
  // beside another spec on two cores.
  test.setTimeout(60_000);
  const old = await newAccount();
  const fresh = await newAccount();
  await saveEverything(await apiSession(ADMIN), old);
  // The trap: the old token was rotated and the old service deleted in Twilio.
  await rotateToken(old.account_sid);
  await deleteService(old.messaging_service_sid);

  await signIn(page, ADMIN);
  await openSmsSettings(page);
  // One section at a time cannot work; the open section says which saved value failed and what to do.
  const credentials = section(page, "Account SID and Auth Token");
  await credentials.getByRole("button", { name: "Edit" }).click();
  await fill(page, { accountSid: fresh.account_sid, authToken: fresh.auth_token });
  await page.getByRole("button", { name: "Save" }).click();
  const explained = credentials.getByRole("alert");
  await expect(explained).toContainText(
    `The saved Messaging Service SID ${old.messaging_service_sid} is not a Messaging Service of Twilio account ${fresh.account_sid}. Nothing was saved.`,
  );
  await expect(explained).toContainText("use Change Twilio account");
  await auditBothSchemes(page);
  await page.getByRole("button", { name: "Cancel" }).click();

  await panel(page).getByRole("button", { name: "Change Twilio account" }).click();
  const change = page.getByRole("region", { name: "Change Twilio account" });
  await expect(change.getByRole("textbox", { name: "Account SID", exact: true })).toHaveValue("");
  await expect(change.getByLabel("Auth Token", { exact: true })).toHaveValue("");
  await expect(change.getByRole("textbox", { name: "Messaging Service SID", exact: true })).toHaveValue("");
  await auditBothSchemes(page);
  await fill(page, { accountSid: fresh.account_sid, authToken: fresh.auth_token, messagingServiceSid: fresh.messaging_service_sid });
  await page.getByRole("button", { name: "Save" }).click();

  const action = `Changed the Twilio account from ${old.account_sid} to ${fresh.account_sid} (Messaging Service SID ${fresh.messaging_service_sid})`;
  await expect(panel(page).getByRole("status").filter({ hasText: words(`Saved. ${action}.`) })).toBeVisible();
  await expect(credentials.getByText(fresh.account_sid, { exact: true })).toBeVisible();
  await expect(panel(page).getByText("Valid", { exact: true })).toBeVisible();
  // The new Messaging Service's sender pool.
  await expect(section(page, "Messaging Service SID").getByText("+15005550006", { exact: true })).toBeVisible();
  await expect(page.getByRole("cell", { name: action })).toBeVisible();
  await auditBothSchemes(page);
});

test("Disconnect Twilio asks first, pauses the running campaign and disables SMS for campaigners", async ({ page, context }) => {
  test.setTimeout(60_000);
  const api = await apiSession(ADMIN);
  // 300 recipients at 10 a second: still running when Twilio is disconnected.
  const audience = ["phone", ...Array.from({ length: 300 }, (_, i) => `+1212736${String(7000 + i)}`)].join("\n");
  const created = await api.post("/api/create_campaign", {
    data: { name: "Disconnected appeal", channel: "sms", audience, body: "Polls close at 8pm." },
  });
  expect(created.ok(), await created.text()).toBeTruthy();
  const id = await created.json();
  expect((await api.post("/api/run_campaign", { form: { id: String(id) } })).ok()).toBeTruthy();

  await signIn(page, ADMIN);
  await openSmsSettings(page);
  // Before saving, the admin learns what a change does to the running campaign.
  await section(page, "Messaging Service SID").getByRole("button", { name: "Edit" }).click();
  await expect(
    page.getByRole("note").filter({
      hasText: words("1 campaign is running. A new Messaging Service SID sends their remaining messages from its phone numbers; removing it pauses them."),
    }),
  ).toBeVisible();
  await page.getByRole("button", { name: "Cancel" }).click();

  await panel(page).getByRole("button", { name: "Disconnect Twilio" }).click();
  const dialog = page.getByRole("alertdialog", { name: "Disconnect Twilio?" });
  await expect(dialog).toContainText("1 campaign is running. It will be paused.");
  await expect(dialog.getByRole("button", { name: "Cancel" })).toBeFocused();
  await auditBothSchemes(page);
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toHaveCount(0);
  await expect(panel(page).getByText("Valid", { exact: true })).toBeVisible();

  await panel(page).getByRole("button", { name: "Disconnect Twilio" }).click();
  await dialog.getByRole("button", { name: "Disconnect", exact: true }).click();

  await expect(panel(page).getByText("Not configured", { exact: true })).toBeVisible();
  await expect(panel(page).getByRole("status").filter({ hasText: words("Disconnected Twilio (Account SID AC") })).toBeVisible();
  await expect(page.getByRole("cell", { name: words("and 1 running campaign was paused") })).toBeVisible();

  // The campaign says why it stopped; the campaigner cannot choose SMS any more.
  await context.clearCookies();
  await signIn(page, "campaigner@change.test");
  await expect(page.getByRole("heading", { name: "Campaigns" })).toBeVisible();
  await page.goto(`/outreach/campaigns/${id}`);
  await hydrated(page);
  const progress = page.getByRole("region", { name: "Progress" });
  await expect(page.getByText("Paused", { exact: true })).toBeVisible();
  await expect(progress.getByRole("status").filter({ hasText: words("Paused: Twilio was disconnected from Outreach.") })).toBeVisible();
  await expect(progress.getByRole("button", { name: "Resume sending" })).toBeDisabled();
  await page.getByRole("link", { name: "Campaigns", exact: true }).click();
  await page.getByRole("link", { name: "New campaign" }).click();
  await hydrated(page);
  await page.getByLabel("Campaign name").fill("After disconnecting");
  await page.getByRole("button", { name: "Next" }).click();
  await expect(page.getByRole("group", { name: "Delivery channel" }).getByRole("radio", { name: "SMS" })).toBeDisabled();
  await expect(page.locator("#sms-availability")).toContainText("SMS is not configured");
});

test("the configured panel, its forms and its dialog pass axe on a phone, and long SIDs wrap on a desktop", async ({ page }) => {
  // Sixteen axe runs.
  test.setTimeout(90_000);
  await saveEverything(await apiSession(ADMIN), await newAccount());
  await page.setViewportSize({ width: 1280, height: 800 });
  await signIn(page, ADMIN);
  await openSmsSettings(page);
  // The Changes list's "What" holds 34-character SIDs: it wraps, nothing is cut off.
  const changes = page.getByRole("region", { name: "Changes (scrolls sideways)" });
  await expect(changes.locator("td.what").first()).toBeVisible();
  expect(await changes.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);

  await page.setViewportSize({ width: 360, height: 740 });
  await auditBothSchemes(page);
  await expectNoSidewaysScroll(page);
  const opens: [string, () => Promise<void>][] = [
    ["Account SID and Auth Token", () => section(page, "Account SID and Auth Token").getByRole("button", { name: "Edit" }).click()],
    ["Messaging Service SID", () => section(page, "Messaging Service SID").getByRole("button", { name: "Edit" }).click()],
    ["Change Twilio account", () => panel(page).getByRole("button", { name: "Change Twilio account" }).click()],
  ];
  for (const [name, open] of opens) {
    await open();
    await expect(page.getByRole("button", { name: "Save" })).toBeVisible();
    await auditBothSchemes(page);
    await expectNoSidewaysScroll(page);
    // The error state of the same form.
    if (name !== "Messaging Service SID") {
      await page.getByRole("button", { name: "Save" }).click();
      await expect(page.locator("#auth_token-error")).toHaveText("Enter the Auth Token.");
      await auditBothSchemes(page);
      await expectNoSidewaysScroll(page);
    }
    await page.getByRole("button", { name: "Cancel" }).click();
    await expect(page.getByRole("button", { name: "Save" })).toHaveCount(0);
  }
  await panel(page).getByRole("button", { name: "Disconnect Twilio" }).click();
  await expect(page.getByRole("alertdialog", { name: "Disconnect Twilio?" })).toBeVisible();
  await auditBothSchemes(page);
  await expectNoSidewaysScroll(page);
});
