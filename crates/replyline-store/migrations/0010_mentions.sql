-- Mentions (version 10): the employees a note mentions, as a JSON array of
-- employee ids (NULL when none). The mentioned people become observers of the
-- chat (conversation_observers) in the same transaction.
ALTER TABLE messages ADD COLUMN mentions TEXT;
