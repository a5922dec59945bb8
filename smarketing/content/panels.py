"""The "content for this stage" panel on deal and contact pages (registered with crm's record panels)."""
