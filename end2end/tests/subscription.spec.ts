// Prerequisites: "Your organisation must have an active Outreach
// subscription". Withdrawn while a campaign runs, it pauses the campaign;
// granted again, a member resumes it.
import { apiSessionWithTwilio, expect, hydrated, outreach, signIn, test, words } from "./helpers";

test("a campaign paused by a withdrawn subscription says why, and resumes once it is granted again", async ({ page }) => {
  test.setTimeout(60_000);
  const admin = await apiSessionWithTwilio("admin@lapsing.test");
  // 300 recipients at 10 a second: still running when the subscription goes.
  const audience = ["phone", ...Array.from({ length: 300 }, (_, i) => `+1212736${String(3000 + i)}`)].join("\n");
  const created = await admin.post("/api/create_campaign", {
    data: { name: "Lapsing appeal", channel: "sms", audience, body: "Thank you for voting." },
  });
  expect(created.ok(), await created.text()).toBeTruthy();
  const id = await created.json();
  expect((await admin.post("/api/run_campaign", { form: { id: String(id) } })).ok()).toBeTruthy();

  outreach("org", "subscription", "Lapsing", "inactive");
  await signIn(page, "campaigner@lapsing.test");
  await expect(page.getByRole("heading", { name: "Outreach needs a subscription" })).toBeVisible();
  // The sending engine pauses it at its next pass (every quarter of a second at most).
  await page.waitForTimeout(1500);
  outreach("org", "subscription", "Lapsing", "active");

  await page.goto(`/outreach/campaigns/${id}`);
  await hydrated(page);
  const progress = page.getByRole("region", { name: "Progress" });
  await expect(page.getByText("Paused", { exact: true })).toBeVisible();
  await expect(
    progress.getByRole("status").filter({ hasText: words("Paused: this organisation's Outreach subscription is not active.") }),
  ).toBeVisible();
  await progress.getByRole("button", { name: "Resume sending" }).click();
  await expect(page.getByText("Running", { exact: true })).toBeVisible();
  await progress.getByRole("button", { name: "Cancel campaign" }).click();
  await progress.getByRole("button", { name: "Yes, cancel the campaign" }).click();
  await expect(page.getByText("Cancelled", { exact: true })).toBeVisible();
});
