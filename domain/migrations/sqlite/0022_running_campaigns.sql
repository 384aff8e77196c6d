-- The sending engine looks for running campaigns on every pass, a few times
-- a second: to send, to complete the finished, to pause those whose
-- organisation lost its subscription, and for the failure guard. Without an
-- index each of those reads went through every campaign ever stored, which
-- on a shared service grows with every organisation's history. This one
-- holds only the running campaigns, in the order they are served.
CREATE INDEX campaigns_running ON campaigns (started_at, id) WHERE status = 'running';
