// Settings > SMS before its WASM loads (here: never, JavaScript is off). The
// page is served as islands (app::ISLAND_PAGES): every part of it is a plain
// form first, `Edit`, `Cancel` and `Disconnect Twilio` GET forms that change
// the address, saving and disconnecting plain posts that the server answers
// with the page again.
import { PASSWORD, expect, panel, section, test, words } from "./helpers";
import { twilio } from "./twilio";

test("Settings > SMS works with JavaScript off: a refusal shown by the server, saving, checking and disconnecting", async ({ browser }) => {
  const t = twilio();
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByLabel("Email").fill("admin@nojs.test");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/outreach\/campaigns$/);
  await page.goto("/outreach/settings/sms");
  await expect(panel(page).getByText(words("Not configured"))).toBeVisible();

  // Refused by Twilio: the error is under its field, nothing is saved.
  await panel(page).getByRole("button", { name: "Edit" }).click();
  await page.getByRole("textbox", { name: "Account SID", exact: true }).fill(t.account_sid);
  await page.getByLabel("Auth Token", { exact: true }).fill("0".repeat(32));
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator("#auth_token-error")).toContainText("incorrect or has been rotated");
  await expect(page.getByLabel("Auth Token", { exact: true })).toHaveValue("");

  // Accepted: the page comes back saying so.
  await page.getByRole("textbox", { name: "Account SID", exact: true }).fill(t.account_sid);
  await page.getByLabel("Auth Token", { exact: true }).fill(t.auth_token);
  await page.getByRole("textbox", { name: "Messaging Service SID", exact: true }).fill(t.messaging_service_sid);
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status").filter({ hasText: words("Saved.") })).toBeVisible();
  await expect(panel(page).locator(".badge", { hasText: "Valid" })).toBeVisible();
  await expect(section(page, "Messaging Service SID").getByText(t.messaging_service_sid)).toBeVisible();

  // `Check now` asks Twilio and shows the page again.
  await page.getByRole("button", { name: "Check now" }).click();
  await expect(panel(page).locator(".badge", { hasText: "Valid" })).toBeVisible();
  await expect(page).toHaveURL(/\/outreach\/settings\/sms/);

  // `Disconnect Twilio`, confirmed in the page.
  await page.getByRole("button", { name: "Disconnect Twilio" }).click();
  await expect(page.getByRole("alertdialog", { name: "Disconnect Twilio?" })).toBeVisible();
  await page.getByRole("button", { name: "Disconnect", exact: true }).click();
  await expect(panel(page).getByText(words("Not configured"))).toBeVisible();
  await context.close();
});
