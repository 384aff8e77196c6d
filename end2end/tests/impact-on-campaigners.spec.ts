// Spec: "Impact on Campaigners" — one case per row of the table, signed in
// as a campaigner.
import { type APIRequestContext, type Page, request } from "@playwright/test";
import { expect, hydrated, PASSWORD, signIn, test, words } from "./helpers";
import { rotateToken, twilio } from "./twilio";

const AUDIENCE = "phone,first_name\n+14155552671,Ada\n+12127365000,Grace\n";

/** An Org Admin's session, for setting the stage through the server functions. */
async function adminOf(row: string): Promise<APIRequestContext> {
  const api = await request.newContext({ baseURL: test.info().project.use.baseURL });
  const signedIn = await api.post("/api/sign_in", { form: { email: `admin@row-${row}.test`, password: PASSWORD } });
  expect(signedIn.ok()).toBeTruthy();
  return api;
}

async function saveCredentials(api: APIRequestContext, accountSid: string, authToken: string, service: string) {
  const response = await api.post("/api/save_twilio_integration", {
    form: { section: "everything", account_sid: accountSid, auth_token: authToken, messaging_service_sid: service, version: "0" },
  });
  expect(response.ok(), await response.text()).toBeTruthy();
}

async function openWizard(page: Page, name: string) {
  await page.getByRole("link", { name: "New campaign" }).click();
  await expect(page.getByRole("heading", { name: "New campaign" })).toBeVisible();
  await hydrated(page);
  await page.getByLabel("Campaign name").fill(name);
  await page.getByRole("button", { name: "Next" }).click();
}

async function createCampaign(page: Page, name: string, { upload = false } = {}) {
  await openWizard(page, name);
  await page.getByRole("group", { name: "Delivery channel" }).getByRole("radio", { name: "SMS" }).check();
  await page.getByRole("button", { name: "Next" }).click();
  if (upload) {
    // A CSV file is read in the browser and checked on the server.
    await page.getByLabel("Upload a CSV").setInputFiles({ name: "audience.csv", mimeType: "text/csv", buffer: Buffer.from(AUDIENCE) });
    await expect(page.getByLabel("Phone numbers or CSV")).toHaveValue(AUDIENCE);
  } else {
    await page.getByLabel("Phone numbers or CSV").fill(AUDIENCE);
    await page.getByRole("button", { name: "Check audience" }).click();
  }
  await expect(page.getByText(words("2 recipients"))).toBeVisible();
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByRole("textbox", { name: "Message", exact: true }).fill("Hi {first_name|there}, thanks for your support!");
  await expect(page.getByText(words("GSM-7 · 1 segment"))).toBeVisible();
  await expect(page.getByText(words("Hi Ada, thanks for your support!"))).toBeVisible();
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByRole("button", { name: "Create campaign" }).click();
  await expect(page.getByRole("heading", { name })).toBeVisible();
  await hydrated(page);
}

test("no Twilio credentials saved: SMS is disabled and no SMS campaign can be created", async ({ page }) => {
  await signIn(page, "campaigner@row-one.test");
  await openWizard(page, "Row one appeal");

  const sms = page.getByRole("group", { name: "Delivery channel" }).getByRole("radio", { name: "SMS" });
  await expect(sms).toBeDisabled();
  await expect(page.locator("#sms-availability")).toContainText("SMS is not configured");
  await expect(page.getByRole("button", { name: "Next" })).toBeDisabled();
});

test("invalid credentials saved: SMS is disabled and Run campaign is disabled", async ({ page }) => {
  const t = twilio();
  const admin = await adminOf("two");
  await saveCredentials(admin, t.trial_account_sid, t.trial_auth_token, "");
  await signIn(page, "campaigner@row-two.test");
  await createCampaign(page, "Row two appeal");

  // The token is rotated in Twilio; Check now finds out.
  await rotateToken(t.trial_account_sid);
  expect((await admin.post("/api/check_twilio_now")).ok()).toBeTruthy();
  await page.reload();

  await expect(page.getByRole("button", { name: "Run campaign" })).toBeDisabled();
  await expect(page.locator("#run-availability")).toContainText("credentials are invalid");
  await page.getByRole("link", { name: "Campaigns", exact: true }).click();
  await openWizard(page, "Another appeal");
  await expect(page.getByRole("group", { name: "Delivery channel" }).getByRole("radio", { name: "SMS" })).toBeDisabled();
  await expect(page.locator("#sms-availability")).toContainText("credentials are invalid");
});

test("valid Account SID and Auth Token, no Messaging Service SID: create yes, run no", async ({ page }) => {
  const t = twilio();
  await saveCredentials(await adminOf("three"), t.account_sid, t.auth_token, "");
  await signIn(page, "campaigner@row-three.test");

  await createCampaign(page, "Row three appeal");

  await expect(page.getByRole("button", { name: "Run campaign" })).toBeDisabled();
  await expect(page.locator("#run-availability")).toHaveText("A Messaging Service SID is required to run SMS campaigns.");
});

test("valid Account SID, Auth Token and Messaging Service SID: create and run", async ({ page }) => {
  const t = twilio();
  await saveCredentials(await adminOf("four"), t.account_sid, t.auth_token, t.messaging_service_sid);
  await signIn(page, "campaigner@row-four.test");
  await createCampaign(page, "Row four appeal", { upload: true });

  await page.getByRole("button", { name: "Run campaign" }).click();
  await expect(page.getByText(words("Send 2 messages"))).toBeVisible();
  await page.getByRole("button", { name: "Start sending" }).click();

  // It runs: both messages go out through the Messaging Service and come back delivered.
  await expect(page.getByRole("button", { name: "Run campaign" })).toHaveCount(0);
  await expect(page.getByText(words("2 of 2 messages have a final status (100%)"))).toBeVisible({ timeout: 20_000 });
  await expect(page.getByText("Completed", { exact: true })).toBeVisible();
});
