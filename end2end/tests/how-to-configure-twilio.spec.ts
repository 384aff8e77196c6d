// Spec: "How to Configure Twilio" and "Account SID and Auth Token".
import { expect, fill, openSmsSettings, panel, section, signIn, test, words } from "./helpers";
import { twilio } from "./twilio";

test.describe.configure({ mode: "serial" });

test("an Org Admin reaches the Twilio Integration panel and opens it with Edit", async ({ page }) => {
  // 1. Log in to the Admin app as an Org Admin.
  await signIn(page, "admin@configure.test");
  // 2. Navigate to Outreach → Settings. 3. Select the SMS section.
  await openSmsSettings(page);
  await expect(panel(page).getByText(words("Not configured"))).toBeVisible();

  // 4. Click Edit on the Twilio Integration panel.
  await panel(page).getByRole("button", { name: "Edit" }).click();

  await expect(page.getByRole("textbox", { name: "Account SID", exact: true })).toBeVisible();
  await expect(page.getByLabel("Auth Token", { exact: true })).toHaveAttribute("type", "password");
  await expect(page.getByLabel("Auth Token", { exact: true })).toHaveAttribute("autocomplete", "off");
  await expect(page.getByRole("textbox", { name: "Messaging Service SID", exact: true })).toBeVisible();
  await expect(page.getByRole("button", { name: "Save" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Cancel" })).toBeVisible();
});

test("after saving, the Account SID is shown as-is and the Auth Token only as a masked placeholder", async ({ page }) => {
  const t = twilio();
  await signIn(page, "admin@configure.test");
  await openSmsSettings(page);
  await panel(page).getByRole("button", { name: "Edit" }).click();

  await fill(page, { accountSid: t.account_sid, authToken: t.auth_token, messagingServiceSid: t.messaging_service_sid });
  await page.getByRole("button", { name: "Save" }).click();

  const credentials = section(page, "Account SID and Auth Token");
  await expect(credentials.getByText(t.account_sid)).toBeVisible();
  await expect(credentials.getByText(words("••••••••••••"))).toBeVisible();
  await expect(panel(page).getByText("Valid", { exact: true })).toBeVisible();
  await expect(page.getByLabel("Auth Token", { exact: true })).toHaveCount(0);
  // Never displayed after saving: not on the page, not in its HTML.
  await page.reload();
  await expect(credentials.getByText(t.account_sid)).toBeVisible();
  expect(await page.content()).not.toContain(t.auth_token);
});

test("Cancel closes the form without saving anything", async ({ page }) => {
  await signIn(page, "admin@configure.test");
  await openSmsSettings(page);
  await section(page, "Messaging Service SID").getByRole("button", { name: "Edit" }).click();
  await fill(page, { messagingServiceSid: "MG00000000000000000000000000000000" });

  await page.getByRole("button", { name: "Cancel" }).click();

  await expect(page.getByRole("textbox", { name: "Messaging Service SID", exact: true })).toHaveCount(0);
  await expect(section(page, "Messaging Service SID").getByText(twilio().messaging_service_sid)).toBeVisible();
});

test("an error from a cancelled form does not follow into the next one", async ({ page }) => {
  const t = twilio();
  await signIn(page, "admin@configure.test");
  await openSmsSettings(page);
  const messaging = section(page, "Messaging Service SID");
  await messaging.getByRole("button", { name: "Edit" }).click();
  await fill(page, { messagingServiceSid: t.other_accounts_messaging_service_sid });
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator("#messaging_service_sid-error")).toContainText("no Messaging Service");

  await page.getByRole("button", { name: "Cancel" }).click();
  await messaging.getByRole("button", { name: "Edit" }).click();

  await expect(page.locator("#messaging_service_sid-error")).toBeEmpty();
  await expect(page.getByRole("textbox", { name: "Messaging Service SID", exact: true })).toHaveValue(t.messaging_service_sid);
});
