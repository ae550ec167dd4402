DROP TABLE attachment_urls;
DROP TABLE attachments;
