// `Send a test` on the wizard's Message and Review steps: the message as the
// first recipient would get it, to the campaigner's own number, with
// Twilio's answer shown for each number.
import { apiSessionWithTwilio, audit, expect, hydrated, signIn, test } from "./helpers";

test("a campaigner sends a test of the message to their own phone before creating the campaign", async ({ page }) => {
  await apiSessionWithTwilio("admin@testsends.test");

  await signIn(page, "campaigner@testsends.test");
  await page.getByRole("link", { name: "New campaign" }).click();
  await hydrated(page);
  await page.getByLabel("Campaign name").fill("Tested first");
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByRole("group", { name: "Delivery channel" }).getByRole("radio", { name: "SMS" }).check();
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByLabel("Phone numbers or CSV").fill("phone,first_name\n+14155552671,Ada\n+14155552672,Grace\n");
  await page.getByRole("button", { name: "Check audience" }).click();
  await expect(page.getByText("2 recipients", { exact: true })).toBeVisible();
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByRole("textbox", { name: "Message", exact: true }).fill("Hi {first_name}, polls open at 7am.");

  // A number that is not one is refused under the field.
  const numbers = page.getByLabel("Your phone numbers");
  await numbers.fill("my phone");
  await page.getByRole("button", { name: "Send a test" }).click();
  await expect(page.getByText("my phone: not a phone number.")).toBeVisible();

  await numbers.fill("+12127365000");
  await page.getByRole("button", { name: "Send a test" }).click();
  const results = page.getByRole("status", { name: "Test messages" });
  await expect(results).toContainText(/\+12127365000: Sent: Twilio accepted it \(SM/);
  await audit(page);

  // Review offers it too; the campaign itself is untouched by the test.
  await page.getByRole("button", { name: "Next" }).click();
  await expect(page.getByRole("button", { name: "Send a test" })).toBeVisible();
  await page.getByRole("button", { name: "Create campaign" }).click();
  await expect(page.getByRole("heading", { name: "Tested first", level: 1 })).toBeVisible();
  await expect(page.getByText("Draft", { exact: true })).toBeVisible();
});
