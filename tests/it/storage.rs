use std::os::unix::fs::PermissionsExt;

use crate::helpers::*;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

#[tokio::test]
async fn data_dir_is_private_and_database_files_are_owner_only() {
    let app = spawn_app_with(&[("ACCESS_KEY", "")]).await;
    app.post_access("wrong").await; // a write, so the WAL exists
    let data = app.data_dir();
    assert_eq!(mode(&data), 0o700);
    for file in ["app.sqlite3", "app.sqlite3-wal", "app.sqlite3-shm", "access_key"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
}

#[tokio::test]
async fn a_loose_existing_data_dir_is_tightened() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(data.join("app.sqlite3"), b"").unwrap();
    std::fs::set_permissions(data.join("app.sqlite3"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let _app = spawn_app_in(dir, &[]).await;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("app.sqlite3")), 0o600);
}

#[tokio::test]
async fn the_schema_has_wal_foreign_keys_and_prompt_search() {
    use sea_orm::{ConnectionTrait, Statement};
    let app = spawn_app().await;
    let db = &app.state.db;
    let one = |sql: &'static str| async move {
        let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap().unwrap();
        row.try_get_by_index::<String>(0).or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string())).unwrap()
    };
    assert_eq!(one("PRAGMA journal_mode").await, "wal");
    assert_eq!(one("PRAGMA foreign_keys").await, "1");
    db.execute_unprepared(
        "INSERT INTO gallery_entries (id, sort_seq, prompt, size, filename, model, bytes, created_at)
         VALUES ('a', 1, 'a red panda in the snow', '1024x1024', 'a.png', 'gpt-image-1', 100, '2026-11-27T00:00:00.000000Z'),
                ('b', 2, '雪地里的小熊猫', '1024x1024', 'b.png', 'gpt-image-1', 50, '2026-11-27T00:00:01.000000Z')",
    )
    .await
    .unwrap();
    assert_eq!(one("SELECT group_concat(id) FROM gallery_entries_fts f JOIN gallery_entries g ON g.rowid = f.rowid WHERE gallery_entries_fts MATCH '\"panda\"'").await, "a");
    assert_eq!(one("SELECT group_concat(id) FROM gallery_entries_fts f JOIN gallery_entries g ON g.rowid = f.rowid WHERE gallery_entries_fts MATCH '\"小熊猫\"'").await, "b");
    assert_eq!(one("SELECT image_count || '/' || total_bytes FROM gallery_totals").await, "2/150");
    assert_eq!(one("SELECT ref_count FROM gallery_filter_options WHERE kind = 'model'").await, "2");
    db.execute_unprepared("DELETE FROM gallery_entries WHERE id = 'a'").await.unwrap();
    assert_eq!(one("SELECT image_count || '/' || total_bytes FROM gallery_totals").await, "1/50");
    assert_eq!(one("SELECT count(*) FROM gallery_entries_fts WHERE gallery_entries_fts MATCH '\"panda\"'").await, "0");
    db.execute_unprepared("UPDATE gallery_entries SET model = 'dall-e-3', bytes = 70 WHERE id = 'b'").await.unwrap();
    assert_eq!(one("SELECT image_count || '/' || total_bytes FROM gallery_totals").await, "1/70");
    assert_eq!(
        one("SELECT group_concat(value || '=' || ref_count) FROM gallery_filter_options WHERE kind = 'model'").await,
        "dall-e-3=1"
    );
    assert_eq!(
        one("SELECT group_concat(value || '=' || ref_count) FROM gallery_filter_options WHERE kind = 'size'").await,
        "1024x1024=1"
    );
}
