-- The Messaging Service's phone numbers (its sender pool) when the
-- credentials were last validated, as a JSON array; NULL without a
-- Messaging Service, or when Twilio could not list them.
ALTER TABLE twilio_integrations ADD COLUMN sender_numbers TEXT;
