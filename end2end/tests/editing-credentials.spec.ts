// Spec: "Editing Credentials" — each section, validated before it applies.
import { expect, fill, openSmsSettings, panel, section, signIn, test, words } from "./helpers";
import { twilio } from "./twilio";

test.describe.configure({ mode: "serial" });

test("without a Messaging Service SID the credentials save and the page says one is needed to run", async ({ page }) => {
  const t = twilio();
  await signIn(page, "admin@edit.test");
  await openSmsSettings(page);
  await panel(page).getByRole("button", { name: "Edit" }).click();
  await fill(page, { accountSid: t.account_sid, authToken: t.auth_token, messagingServiceSid: "" });
  await page.getByRole("button", { name: "Save" }).click();

  await expect(section(page, "Messaging Service SID").getByText(words("Not set — required to run SMS campaigns"))).toBeVisible();
  // The help page's words exactly, capitals included.
  await expect(
    page.getByText("Campaigners can create SMS campaigns but cannot run them. A Messaging Service SID is required to run SMS campaigns.", {
      exact: true,
    }),
  ).toBeVisible();
});

test("the Messaging Service SID section is edited on its own and validated with the saved credentials", async ({ page }) => {
  const t = twilio();
  await signIn(page, "admin@edit.test");
  await openSmsSettings(page);
  const messaging = section(page, "Messaging Service SID");

  await messaging.getByRole("button", { name: "Edit" }).click();
  await fill(page, { messagingServiceSid: t.other_accounts_messaging_service_sid });
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator("#messaging_service_sid-error")).toContainText("no Messaging Service");

  await fill(page, { messagingServiceSid: t.second_messaging_service_sid });
  await page.getByRole("button", { name: "Save" }).click();

  await expect(messaging.getByText(t.second_messaging_service_sid)).toBeVisible();
  await expect(page.getByRole("cell", { name: `Set the Messaging Service SID to ${t.second_messaging_service_sid}` })).toBeVisible();
});

test("the Auth Token section needs a new value, which is validated before it is applied", async ({ page }) => {
  const t = twilio();
  await signIn(page, "admin@edit.test");
  await openSmsSettings(page);
  const credentials = section(page, "Account SID and Auth Token");
  await credentials.getByRole("button", { name: "Edit" }).click();

  // The Auth Token is never pre-filled: it has to be entered again.
  await expect(page.getByLabel("Auth Token", { exact: true })).toHaveValue("");
  await expect(page.getByRole("textbox", { name: "Account SID", exact: true })).toHaveValue(t.account_sid);
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator("#auth_token-error")).toHaveText("Enter the Auth Token.");

  await fill(page, { authToken: "f".repeat(32) });
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator("#auth_token-error")).toContainText("incorrect or has been rotated");

  await fill(page, { authToken: t.auth_token });
  await page.getByRole("button", { name: "Save" }).click();

  await expect(credentials.getByText(words("••••••••••••"))).toBeVisible();
  await expect(panel(page).getByText("Valid", { exact: true })).toBeVisible();
  await expect(page.getByRole("cell", { name: "Replaced the Auth Token" })).toBeVisible();
});
