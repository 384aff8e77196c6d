// Quiet hours: an Org Admin sets them on Settings > Organisation; a
// campaign started inside them waits, its page says what waits and until
// when, and an Org Admin's exemption lets it finish.
import { apiSession, apiSessionWithTwilio, audit, expect, hydrated, signIn, test } from "./helpers";

/** A time of day `hours` from now in UTC (the organisation's zone), as a time field takes it. */
function clockIn(hours: number): string {
  return new Date(Date.now() + hours * 60 * 60 * 1000).toISOString().slice(11, 16);
}

test("messages wait through quiet hours, the page says until when, and an exemption sends them", async ({ page }) => {
  await apiSessionWithTwilio("admin@quiethours.test");

  await signIn(page, "admin@quiethours.test");
  await page.getByRole("link", { name: "Settings" }).click();
  await hydrated(page);
  await expect(page.getByText("Off: campaigns send at any hour.")).toBeVisible();
  // Quiet from an hour ago until two hours from now.
  const from = clockIn(-1);
  const until = clockIn(2);
  await page.getByLabel("Quiet from").fill(from);
  await page.getByLabel("Quiet until").fill(from);
  await page.getByRole("button", { name: "Save quiet hours" }).click();
  await expect(page.getByText("Quiet hours must end at another time than they start.")).toBeVisible();
  await page.getByLabel("Quiet until").fill(until);
  await page.getByRole("button", { name: "Save quiet hours" }).click();
  await expect(page.getByText(`On: campaigns send nothing from ${from} to ${until}.`)).toBeVisible();
  await expect(page.getByRole("button", { name: "Turn off quiet hours" })).toBeVisible();
  await audit(page);

  // A campaigner's campaign to United States numbers: the country has
  // several time zones, so the organisation's (UTC) is used.
  const campaigner = await apiSession("campaigner@quiethours.test");
  const audience = ["phone", "+12127366001", "+12127366002", "+12127366003"].join("\n");
  const created = await campaigner.post("/api/create_campaign", {
    data: { name: "Late appeal", channel: "sms", audience, body: "See you there." },
  });
  expect(created.ok(), await created.text()).toBeTruthy();
  const id = await created.json();
  expect((await campaigner.post("/api/run_campaign", { form: { id: String(id) } })).ok()).toBeTruthy();

  await page.goto(`/outreach/campaigns/${id}`);
  await hydrated(page);
  await expect(page.getByText("Waiting for quiet hours to end:")).toBeVisible();
  await expect(page.getByText(new RegExp(`^3 messages to recipients in UTC wait until ${until} there \\(.+ UTC\\)\\.$`))).toBeVisible();
  await expect(page.getByText("Running", { exact: true })).toBeVisible();
  await audit(page);

  await page.getByRole("button", { name: "Exempt from quiet hours" }).click();
  await expect(page.getByText("Completed", { exact: true })).toBeVisible({ timeout: 30_000 });
  await expect(page.getByText("Waiting for quiet hours to end:")).toHaveCount(0);
});
