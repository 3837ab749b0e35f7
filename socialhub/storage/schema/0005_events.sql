-- Group events and their RSVPs. Times are Unix seconds (BIGINT), `starts_at` in UTC.

CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    group_id BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    creator_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    starts_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- A group's events in the list's order: by start, then id.
CREATE INDEX events_by_group ON events (group_id, starts_at, id);

-- One answer per member and event; answering again replaces it.
CREATE TABLE event_rsvps (
    event_id BIGINT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    response TEXT NOT NULL CHECK (response IN ('going', 'not_going')),
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (event_id, user_id)
);

-- notifications.event_id has no foreign key (see 0002), so whatever deletes events deletes their
-- notifications itself; this index keeps that from scanning every notification.
CREATE INDEX notifications_by_event ON notifications (event_id) WHERE event_id IS NOT NULL;
