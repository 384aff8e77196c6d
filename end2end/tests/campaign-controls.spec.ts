// A running campaign can be paused, resumed and cancelled from its page;
// what was not sent when it was cancelled is never sent.
import { apiSession, apiSessionWithTwilio, expect, hydrated, signIn, test, words } from "./helpers";
import { twilio } from "./twilio";

test("a campaigner pauses, resumes and cancels a running campaign", async ({ page }) => {
  test.setTimeout(60_000);
  const api = await apiSessionWithTwilio("admin@controls.test");
  // 300 recipients at the default 10 messages a second: half a minute of
  // sending, so that a slow machine still pauses, resumes and cancels it
  // before the end (80, 8 seconds, left too little room in one CI run). Numbers
  // count down: messages go in audience order, results are shown in number
  // order, so the first page of results holds the ones never sent.
  const audience = ["phone", ...Array.from({ length: 300 }, (_, i) => `+1212736${String(5999 - i)}`)].join("\n");
  const created = await api.post("/api/create_campaign", {
    data: { name: "Controls appeal", channel: "sms", audience, body: "Doors open at 6pm." },
  });
  expect(created.ok(), await created.text()).toBeTruthy();
  const id = await created.json();

  await signIn(page, "campaigner@controls.test");
  await expect(page.getByRole("heading", { name: "Campaigns" })).toBeVisible();
  await page.goto(`/outreach/campaigns/${id}`);
  await hydrated(page);
  await page.getByRole("button", { name: "Run campaign" }).click();
  await page.getByRole("button", { name: "Start sending" }).click();
  const progress = page.getByRole("region", { name: "Progress" });

  await progress.getByRole("button", { name: "Pause sending" }).click();
  await expect(page.getByText("Paused", { exact: true })).toBeVisible();
  await expect(progress.getByRole("button", { name: "Resume sending" })).toBeEnabled();

  await progress.getByRole("button", { name: "Resume sending" }).click();
  await expect(page.getByText("Running", { exact: true })).toBeVisible();

  await progress.getByRole("button", { name: "Cancel campaign" }).click();
  await expect(progress.getByText(words("Messages not sent yet will never be sent."))).toBeVisible();
  await progress.getByRole("button", { name: "Yes, cancel the campaign" }).click();
  await expect(page.getByText("Cancelled", { exact: true })).toBeVisible();
  const notSent = progress.locator(".counts div").filter({ has: page.getByText("Not sent (cancelled)", { exact: true }) });
  await expect(notSent.locator("dd")).not.toHaveText("0");
  await expect(progress.getByRole("button", { name: "Resume sending" })).toHaveCount(0);
  await expect(progress.getByRole("button", { name: "Cancel campaign" })).toHaveCount(0);
  await expect(page.getByRole("region", { name: "Recipients" })).toContainText("Not sent: the campaign was cancelled.");
});

test("the campaign list follows a running campaign without a reload", async ({ page }) => {
  const t = twilio();
  const api = await apiSession("admin@controls.test");
  // The other spec in this file may have saved them already: either way they are valid.
  const settings = await (await api.post("/api/sms_settings")).json();
  if (!settings.integration) {
    const saved = await api.post("/api/save_twilio_integration", {
      form: { section: "everything", account_sid: t.account_sid, auth_token: t.auth_token, messaging_service_sid: t.messaging_service_sid, version: "0" },
    });
    expect(saved.ok(), await saved.text()).toBeTruthy();
  }
  // 80 recipients at the default 10 messages a second: about 8 seconds.
  const audience = ["phone", ...Array.from({ length: 80 }, (_, i) => `+1212736${String(6000 + i)}`)].join("\n");
  const created = await api.post("/api/create_campaign", {
    data: { name: "Followed appeal", channel: "sms", audience, body: "See you there." },
  });
  expect(created.ok(), await created.text()).toBeTruthy();
  const id = await created.json();
  expect((await api.post("/api/run_campaign", { form: { id: String(id) } })).ok()).toBeTruthy();

  await signIn(page, "campaigner@controls.test");
  const row = page.getByRole("row").filter({ hasText: words("Followed appeal") });
  await expect(row).toContainText("Running");
  await hydrated(page);
  await expect(row).toContainText("Completed", { timeout: 30_000 });
  await expect(row).toContainText("80 delivered");
});
