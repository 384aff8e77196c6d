// The wizard's Review step offers `Send now` and `Schedule`: a scheduled
// campaign waits as a draft, shows its time on its page and on the list,
// and can be unscheduled until it starts.
import { apiSessionWithTwilio, audit, expect, hydrated, signIn, test } from "./helpers";

/// Tomorrow's date as a date field takes it (the organisation's time zone
/// is UTC: it was never changed).
function tomorrow(): string {
  return new Date(Date.now() + 24 * 60 * 60 * 1000).toISOString().slice(0, 10);
}

test("a campaigner schedules a campaign in the wizard, sees its time, and unschedules it", async ({ page }) => {
  await apiSessionWithTwilio("admin@schedules.test");

  await signIn(page, "campaigner@schedules.test");
  await page.getByRole("link", { name: "New campaign" }).click();
  await hydrated(page);
  await page.getByLabel("Campaign name").fill("Morning reminder");
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByRole("group", { name: "Delivery channel" }).getByRole("radio", { name: "SMS" }).check();
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByLabel("Phone numbers or CSV").fill("+14155552671\n+12127365000\n");
  await page.getByRole("button", { name: "Check audience" }).click();
  await expect(page.getByText("2 recipients", { exact: true })).toBeVisible();
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByRole("textbox", { name: "Message", exact: true }).fill("Polls open at 7am.");
  await page.getByRole("button", { name: "Next" }).click();

  // Review: Send now is there; a time in the past is refused under the date.
  await expect(page.getByRole("button", { name: "Send now" })).toBeEnabled();
  await expect(page.getByText("In your organisation's time zone, UTC.")).toBeVisible();
  await page.getByLabel("Date").fill("2020-01-01");
  await page.getByLabel("Time").fill("09:00");
  await page.getByRole("button", { name: "Schedule", exact: true }).click();
  await expect(page.getByText(/Choose a date and time in the future: it is/)).toBeVisible();
  await audit(page);

  const day = tomorrow();
  await page.getByLabel("Date").fill(day);
  await page.getByRole("button", { name: "Schedule", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Morning reminder", level: 1 })).toBeVisible();
  await hydrated(page);
  const when = new Date(`${day}T09:00:00Z`);
  const shown = `${when.getUTCDate()} ${when.toLocaleString("en-GB", { month: "short", timeZone: "UTC" })} ${when.getUTCFullYear()} at 09:00 UTC`;
  await expect(page.getByText(`Scheduled for ${shown}.`)).toBeVisible();
  await expect(page.getByLabel("Date")).toHaveValue(day);
  await audit(page);

  await page.getByRole("link", { name: "Campaigns", exact: true }).click();
  const row = page.getByRole("row", { name: /Morning reminder/ });
  await expect(row.getByText("Scheduled", { exact: true })).toBeVisible();
  await expect(row.getByText(`for ${shown}`)).toBeVisible();

  await row.getByRole("link", { name: "Morning reminder" }).click();
  await hydrated(page);
  await page.getByRole("button", { name: "Unschedule" }).click();
  await expect(page.getByText("Not scheduled: it waits for someone to run it, or for a date and time below.")).toBeVisible();
  await expect(page.getByText("Draft", { exact: true })).toBeVisible();
});
