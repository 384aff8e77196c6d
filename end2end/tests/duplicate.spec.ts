// `Duplicate` on a campaign's page makes a draft copy with its channel,
// message and audience, and opens it.
import { apiSessionWithTwilio, expect, hydrated, signIn, test } from "./helpers";

test("Duplicate opens a draft copy of the campaign with its message and audience", async ({ page }) => {
  const admin = await apiSessionWithTwilio("admin@duplicate.test");
  const created = await admin.post("/api/create_campaign", {
    data: { name: "Harvest appeal", channel: "sms", audience: "+14155552671\n+12127365000\n", body: "Harvest supper on Friday" },
  });
  expect(created.ok(), await created.text()).toBeTruthy();
  const id = await created.json();

  await signIn(page, "campaigner@duplicate.test");
  await expect(page).toHaveURL(/campaigns$/);
  await page.goto(`/outreach/campaigns/${id}`);
  await hydrated(page);
  await page.getByRole("button", { name: "Duplicate" }).click();

  await expect(page.getByRole("heading", { name: "Harvest appeal (copy)", level: 1 })).toBeVisible();
  expect(page.url()).not.toMatch(new RegExp(`/campaigns/${id}$`));
  await expect(page.getByText("Draft", { exact: true })).toBeVisible();
  await expect(page.getByText("Harvest supper on Friday").first()).toBeVisible();
  await expect(page.getByText("2 recipients").first()).toBeVisible();
});
