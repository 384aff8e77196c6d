// The same campaign, end to end, on PostgreSQL with a web process and a
// separate worker (see serve-postgres-for-tests.sh): the Org Admin saves the
// credentials in the browser, a campaigner creates and runs the campaign in
// the wizard, and the page follows it to completion.
import { expect, hydrated, test, words } from "./helpers";
import { twilio } from "./twilio";

const postgres = process.env.E2E_PG_URL as string;

test("a campaign runs to completion on PostgreSQL, sent by a worker process", async ({ page, context }) => {
  test.setTimeout(90_000);
  const t = twilio();
  const signIn = async (email: string) => {
    await page.goto(`${postgres}/login`);
    await hydrated(page);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("end-to-end password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("heading", { name: "Campaigns" })).toBeVisible();
  };

  await signIn("admin@postgres.test");
  await page.goto(`${postgres}/outreach/settings/sms`);
  await hydrated(page);
  const integration = page.getByRole("region", { name: "Twilio Integration" });
  await integration.getByRole("button", { name: "Edit" }).click();
  await page.getByRole("textbox", { name: "Account SID", exact: true }).fill(t.account_sid);
  await page.getByLabel("Auth Token", { exact: true }).fill(t.auth_token);
  await page.getByRole("textbox", { name: "Messaging Service SID", exact: true }).fill(t.messaging_service_sid);
  await page.getByRole("button", { name: "Save" }).click();
  await expect(integration.getByText("Valid", { exact: true })).toBeVisible();
  await context.clearCookies();

  await signIn("campaigner@postgres.test");
  await page.getByRole("link", { name: "New campaign" }).click();
  await hydrated(page);
  await page.getByLabel("Campaign name").fill("Postgres appeal");
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByRole("group", { name: "Delivery channel" }).getByRole("radio", { name: "SMS" }).check();
  await page.getByRole("button", { name: "Next" }).click();
  const voters = Array.from({ length: 20 }, (_, i) => `+1303555${4100 + i},Voter ${i + 1}`);
  await page.getByLabel("Phone numbers or CSV").fill(["phone,first_name", ...voters].join("\n"));
  await page.getByRole("button", { name: "Check audience" }).click();
  await expect(page.getByText(words("20 recipients"))).toBeVisible();
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByRole("textbox", { name: "Message", exact: true }).fill("Hi {first_name|there}, polls are open until 8pm.");
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByRole("button", { name: "Create campaign" }).click();
  await expect(page.getByRole("heading", { name: "Postgres appeal" })).toBeVisible();
  await hydrated(page);

  await page.getByRole("button", { name: "Run campaign" }).click();
  await page.getByRole("button", { name: "Start sending" }).click();
  const progress = page.getByRole("region", { name: "Progress" });
  await expect(progress.getByText(words("20 of 20 messages have a final status (100%)"))).toBeVisible({ timeout: 30_000 });
  await expect(page.getByText("Completed", { exact: true })).toBeVisible();
  const delivered = progress.locator(".counts div").filter({ has: page.getByText("Delivered", { exact: true }) });
  await expect(delivered.locator("dd")).toHaveText("20");

  await page.getByRole("link", { name: "Campaigns", exact: true }).click();
  const row = page.getByRole("row").filter({ hasText: words("Postgres appeal") });
  await expect(row).toContainText("Completed");
  await expect(row).toContainText("20 delivered");
});
