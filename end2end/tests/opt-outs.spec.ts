// Outreach > Opt-outs: a number added by hand is listed with who added it,
// left out of a new campaign's audience, and removed only when its person
// asked to be messaged again.
import { apiSessionWithTwilio, audit, expect, hydrated, signIn, test } from "./helpers";

test("an opt-out added by hand is honoured by the campaign wizard and removed only on request", async ({ page }) => {
  await apiSessionWithTwilio("admin@optouts.test");

  await signIn(page, "campaigner@optouts.test");
  await expect(page).toHaveURL(/campaigns$/);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Opt-outs" }).click();
  await expect(page).toHaveURL(/\/outreach\/opt-outs$/);
  await hydrated(page);
  await expect(page.getByText("No number has opted out.")).toBeVisible();

  await page.getByLabel("Phone number", { exact: true }).fill("(415) 555-2671");
  await page.getByRole("button", { name: "Add opt-out" }).click();
  await expect(page.getByRole("status")).toHaveText("Added: this number will not be messaged.");
  const row = page.getByRole("row", { name: /\+14155552671/ });
  await expect(row).toContainText("Added by hand");
  await expect(row).toContainText("by campaigner@optouts.test");
  await audit(page);

  // A new campaign to that number and another leaves it out.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Campaigns" }).click();
  await page.getByRole("link", { name: "New campaign" }).click();
  await hydrated(page);
  await page.getByLabel("Campaign name").fill("Honours opt-outs");
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByRole("group", { name: "Delivery channel" }).getByRole("radio", { name: "SMS" }).check();
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByLabel("Phone numbers or CSV").fill("+14155552671\n+12127365000\n");
  await page.getByRole("button", { name: "Check audience" }).click();
  await expect(page.getByRole("status")).toContainText("1 recipients");
  await expect(page.getByRole("status")).toContainText("1 opted out excluded");

  // Removing it needs the person's request, confirmed.
  await page.goto("/outreach/opt-outs");
  await hydrated(page);
  await page.getByRole("button", { name: "Remove the opt-out of +14155552671" }).click();
  const dialog = page.getByRole("alertdialog", { name: "Remove the opt-out of +14155552671?" });
  await expect(dialog).toBeVisible();
  await dialog.getByRole("checkbox", { name: "This person asked to receive messages again" }).check();
  await dialog.getByRole("button", { name: "Remove opt-out" }).click();
  await expect(page.getByText("No number has opted out.")).toBeVisible();
});
