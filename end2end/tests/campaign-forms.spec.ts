// Campaign forms put each error under the field it is about, as the settings
// form does: the wizard goes back to the step with that field, and a refused
// draft edit keeps what was typed.
import { apiSessionWithTwilio, expect, hydrated, signIn, test } from "./helpers";

const AUDIENCE = "phone,first_name\n+14155552671,Ada\n+12127365000,Grace\n";

test("a name already taken sends the wizard back to Details with the error under the name", async ({ page }) => {
  const admin = await apiSessionWithTwilio("admin@forms.test");
  const first = await admin.post("/api/create_campaign", {
    data: { name: "Autumn appeal", channel: "sms", audience: AUDIENCE, body: "Hi {first_name}" },
  });
  expect(first.ok(), await first.text()).toBeTruthy();
  const second = await admin.post("/api/create_campaign", {
    data: { name: "Winter appeal", channel: "sms", audience: AUDIENCE, body: "Hi {first_name}" },
  });
  const winter = await second.json();

  await signIn(page, "campaigner@forms.test");
  await page.getByRole("link", { name: "New campaign" }).click();
  await hydrated(page);
  await page.getByLabel("Campaign name").fill("Autumn appeal");
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByRole("group", { name: "Delivery channel" }).getByRole("radio", { name: "SMS" }).check();
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByLabel("Phone numbers or CSV").fill(AUDIENCE);
  await page.getByRole("button", { name: "Check audience" }).click();
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByRole("textbox", { name: "Message", exact: true }).fill("Hi {first_name|there}!");
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByRole("button", { name: "Create campaign" }).click();

  // Back on Details, the error under the name, and the name kept.
  await expect(page.getByRole("heading", { name: "Details" })).toBeVisible();
  const name = page.getByLabel("Campaign name");
  await expect(name).toHaveValue("Autumn appeal");
  await expect(name).toHaveAttribute("aria-invalid", "true");
  await expect(name).toHaveAccessibleDescription(/already exists in your organisation: choose another/);
  // Fixing it clears the error; everything else was kept.
  await name.fill("Autumn appeal, second wave");
  await expect(name).toHaveAttribute("aria-invalid", "false");
  for (let step = 0; step < 4; step++) {
    await page.getByRole("button", { name: "Next" }).click();
  }
  await page.getByRole("button", { name: "Create campaign" }).click();
  await expect(page.getByRole("heading", { name: "Autumn appeal, second wave" })).toBeVisible();

  // A refused draft edit: the error under the field, what was typed kept.
  await page.goto(`/outreach/campaigns/${winter}`);
  await hydrated(page);
  const edit = page.getByRole("region", { name: "Edit draft" });
  await edit.getByLabel("Campaign name").fill("Autumn appeal");
  await edit.getByLabel("Message").fill("Hello {first_name|friend}");
  await edit.getByRole("button", { name: "Save changes" }).click();
  const editedName = edit.getByLabel("Campaign name");
  await expect(editedName).toHaveAttribute("aria-invalid", "true");
  await expect(editedName).toHaveAccessibleDescription(/already exists/);
  await expect(editedName).toHaveValue("Autumn appeal");
  await expect(edit.getByLabel("Message")).toHaveValue("Hello {first_name|friend}");
  await expect(page.getByRole("heading", { name: "Winter appeal" })).toBeVisible();
});
