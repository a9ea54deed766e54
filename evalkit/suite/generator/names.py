"""Name sets for synthetic worlds: several business domains, so the same name is not always the answer.

Each domain lists services by layer (entry APIs, mid-tier, leaf), data stores, topics and third parties.
Names are fictional; hosts use reserved example domains.
"""

from __future__ import annotations

DOMAINS: dict[str, dict] = {
    "retail": {
        "edge": ("edge-lb", "api-gateway"),
        "entry": ["storefront-bff", "mobile-bff", "checkout", "search", "account-api"],
        "mid": ["cart", "payments-api", "pricing", "inventory", "orders", "catalog", "promotions", "user-auth"],
        "leaf": ["shipping", "notifications", "recommendations", "reviews", "tax-calc", "fulfillment",
                 "loyalty", "address-validation"],
        "databases": ["orders-db", "catalog-db", "users-db"],
        "caches": ["session-cache", "catalog-cache"],
        "topics": ["order-events", "inventory-updates"],
        "externals": [("payproc", "api.payproc.example.net"), ("carrierhub", "api.carrierhub.example.com"),
                      ("mailrelay", "smtp.mailrelay.example.org")],
    },
    "fintech": {
        "edge": ("edge-proxy", "public-gateway"),
        "entry": ["mobile-api", "web-bff", "partner-api", "onboarding"],
        "mid": ["accounts", "transfers", "cards-api", "ledger", "limits", "fraud-scoring", "statements", "auth"],
        "leaf": ["fx-rates", "kyc-checks", "notifier", "audit-log", "fee-engine", "risk-rules", "documents"],
        "databases": ["ledger-db", "accounts-db", "cards-db"],
        "caches": ["rates-cache", "token-cache"],
        "topics": ["transfer-events", "card-authorizations"],
        "externals": [("cardnet", "gw.cardnet.example.com"), ("kycverify", "api.kycverify.example.net"),
                      ("fxfeed", "stream.fxfeed.example.org")],
    },
    "mobility": {
        "edge": ("ingress", "rider-gateway"),
        "entry": ["rider-bff", "driver-bff", "ops-console-api", "trips-api"],
        "mid": ["dispatch", "pricing", "trips", "eta", "payments-api", "driver-location", "promotions",
                "identity"],
        "leaf": ["maps-proxy", "surge-model", "receipts", "notifications", "ratings", "fraud-check",
                 "geo-index"],
        "databases": ["trips-db", "drivers-db", "billing-db"],
        "caches": ["geo-cache", "session-cache"],
        "topics": ["location-updates", "trip-events"],
        "externals": [("mapsprovider", "tiles.mapsprovider.example.com"),
                      ("smsgate", "api.smsgate.example.net"), ("payproc", "api.payproc.example.net")],
    },
    "streaming": {
        "edge": ("edge-cdn", "api-gateway"),
        "entry": ["web-bff", "tv-bff", "playback-api", "account-api"],
        "mid": ["catalog", "entitlements", "billing", "user-profile", "search", "playlists", "drm-license",
                "sessions"],
        "leaf": ["recommendations", "watch-history", "ads-decision", "thumbnails", "subtitles",
                 "notifications", "metering"],
        "databases": ["billing-db", "profiles-db", "catalog-db"],
        "caches": ["profile-cache", "manifest-cache"],
        "topics": ["playback-events", "billing-events"],
        "externals": [("paymentsco", "api.paymentsco.example.com"), ("drmvendor", "license.drmvendor.example.net"),
                      ("adexchange", "bid.adexchange.example.org")],
    },
}

ZONES: tuple[str, ...] = ("eu-west-1a", "eu-west-1b", "eu-west-1c")
LANGUAGES: tuple[str, ...] = ("go", "java", "node", "python")
