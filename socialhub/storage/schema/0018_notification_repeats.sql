-- A repeated notification is not stored: while a user has an unread notification, the same one
-- again (same type, actor, group, post, event and message) is never written, so a follow and
-- unfollow loop, join and leave, or invite and withdraw notify once. Comments are exempt: each
-- is news. The store leaves repeats out in its INSERT; this index makes a repeat impossible
-- whatever writes it. A notification without an actor never repeats: NULLs are distinct here.
-- Repeats stored before this index existed are marked read, all but the oldest of each.
UPDATE notifications SET is_read = TRUE
WHERE NOT is_read AND type <> 'post_comment' AND actor_id IS NOT NULL AND EXISTS (
    SELECT 1 FROM notifications older
    WHERE NOT older.is_read AND older.id < notifications.id
    AND older.user_id = notifications.user_id AND older.type = notifications.type
    AND older.actor_id = notifications.actor_id AND older.message = notifications.message
    AND COALESCE(older.group_id, 0) = COALESCE(notifications.group_id, 0)
    AND COALESCE(older.post_id, 0) = COALESCE(notifications.post_id, 0)
    AND COALESCE(older.event_id, 0) = COALESCE(notifications.event_id, 0)
);

CREATE UNIQUE INDEX notifications_unread_once ON notifications (
    user_id, type, actor_id, COALESCE(group_id, 0), COALESCE(post_id, 0), COALESCE(event_id, 0),
    message
) WHERE NOT is_read AND type <> 'post_comment';
