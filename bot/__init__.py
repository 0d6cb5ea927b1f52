"""furikaeri: reflection between career-counseling sessions, on LINE and Telegram."""
