// A running campaign can be paused, resumed and cancelled from its page;
// what was not sent when it was cancelled is never sent.
import { expect, request, test } from "@playwright/test";
import { hydrated, PASSWORD, signIn } from "./helpers";
import { twilio } from "./twilio";

test("a campaigner pauses, resumes and cancels a running campaign", async ({ page }) => {
  test.setTimeout(60_000);
  const t = twilio();
  const api = await request.newContext({ baseURL: test.info().project.use.baseURL });
  expect((await api.post("/api/sign_in", { form: { email: "admin@controls.test", password: PASSWORD } })).ok()).toBeTruthy();
  const saved = await api.post("/api/save_twilio_integration", {
    form: { section: "everything", account_sid: t.account_sid, auth_token: t.auth_token, messaging_service_sid: t.messaging_service_sid, version: "0" },
  });
  expect(saved.ok(), await saved.text()).toBeTruthy();
  // 80 recipients at the default 10 messages a second: several seconds of sending.
  const audience = ["phone", ...Array.from({ length: 80 }, (_, i) => `+1212736${String(5000 + i)}`)].join("\n");
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
  await expect(progress.getByText("Messages not sent yet will never be sent.")).toBeVisible();
  await progress.getByRole("button", { name: "Yes, cancel the campaign" }).click();
  await expect(page.getByText("Cancelled", { exact: true })).toBeVisible();
  const notSent = progress.locator(".counts div").filter({ has: page.getByText("Not sent (cancelled)", { exact: true }) });
  await expect(notSent.locator("dd")).not.toHaveText("0");
  await expect(progress.getByRole("button", { name: "Resume sending" })).toHaveCount(0);
  await expect(progress.getByRole("button", { name: "Cancel campaign" })).toHaveCount(0);
  await expect(page.getByRole("region", { name: "Recipients" })).toContainText("Not sent: the campaign was cancelled.");
});
