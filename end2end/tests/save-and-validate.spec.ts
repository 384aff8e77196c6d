// Spec: "Save and Validate" — success and each failure scenario.
import { type Page } from "@playwright/test";
import { expect, fill, openSmsSettings, panel, signIn, test, type Values, words } from "./helpers";
import { twilio } from "./twilio";

test.describe.configure({ mode: "serial" });

async function attempt(page: Page, values: Values) {
  await signIn(page, "admin@validate.test");
  await openSmsSettings(page);
  await panel(page).getByRole("button", { name: "Edit" }).click();
  await fill(page, values);
  await page.getByRole("button", { name: "Save" }).click();
}

async function expectNothingSaved(page: Page) {
  await expect(page.getByRole("alert").filter({ hasText: words("Nothing was saved") })).toBeVisible();
  await page.goto("/outreach/settings/sms");
  await expect(panel(page).getByText(words("Not configured"))).toBeVisible();
  await expect(page.getByText(words("No changes yet."))).toBeVisible();
}

test("an incorrect or rotated Auth Token is refused next to the Auth Token field", async ({ page }) => {
  const t = twilio();
  await attempt(page, { accountSid: t.account_sid, authToken: "0".repeat(32), messagingServiceSid: t.messaging_service_sid });

  await expect(page.locator("#auth_token-error")).toContainText("incorrect or has been rotated");
  await expect(page.getByLabel("Auth Token", { exact: true })).toHaveAttribute("aria-invalid", "true");
  // What the user typed is kept, except the Auth Token.
  await expect(page.getByRole("textbox", { name: "Account SID", exact: true })).toHaveValue(t.account_sid);
  await expect(page.getByLabel("Auth Token", { exact: true })).toHaveValue("");
  await expectNothingSaved(page);
});

test("an Account SID that does not match the Auth Token is refused", async ({ page }) => {
  const t = twilio();
  await attempt(page, { accountSid: t.other_account_sid, authToken: t.auth_token, messagingServiceSid: "" });

  await expect(page.locator("#account_sid-error")).toContainText("same Twilio account");
  await expectNothingSaved(page);
});

test("a Messaging Service SID that does not exist on the account is refused", async ({ page }) => {
  const t = twilio();
  await attempt(page, {
    accountSid: t.account_sid,
    authToken: t.auth_token,
    messagingServiceSid: t.other_accounts_messaging_service_sid,
  });

  await expect(page.locator("#messaging_service_sid-error")).toContainText("no Messaging Service");
  await expectNothingSaved(page);
});

test("a Messaging Service the Account SID may not use is refused", async ({ page }) => {
  const t = twilio();
  await attempt(page, {
    accountSid: t.account_sid,
    authToken: t.auth_token,
    messagingServiceSid: t.forbidden_messaging_service_sid,
  });

  await expect(page.locator("#messaging_service_sid-error")).toContainText("does not have permission");
  await expectNothingSaved(page);
});

test("a malformed Account SID is caught before Twilio is asked", async ({ page }) => {
  await attempt(page, { accountSid: "AC123", authToken: "whatever", messagingServiceSid: "" });

  await expect(page.locator("#account_sid-error")).toContainText("starts with AC");
  await expectNothingSaved(page);
});

test("valid credentials are saved and SMS campaigns can begin", async ({ page }) => {
  const t = twilio();
  await attempt(page, { accountSid: ` ${t.account_sid} `, authToken: t.auth_token, messagingServiceSid: t.messaging_service_sid });

  await expect(panel(page).getByText("Valid", { exact: true })).toBeVisible();
  await expect(page.getByText(words("Campaigners can create and run SMS campaigns."))).toBeVisible();
  await expect(page.getByRole("cell", { name: "admin@validate.test" })).toBeVisible();
});
