"""transactions: a small Flask + MongoDB service for money transactions.

Environment:
  MONGO_URI         MongoDB URI (default mongodb://mongo:27017/transactions);
                    its database part names the database (default "transactions")
  PORT              TCP port (default 5000)
  HOST              address to bind (default 0.0.0.0)
  MONGO_TIMEOUT_MS  how long a request waits for MongoDB (default 2000)
  USERS_URL         the users service (default http://users:5000)
  EVENTS_URL        the events service (default http://events:5000)

Endpoints (JSON in, JSON out):
  GET    /health              {"status": "ok", "service": "transactions"}; never touches MongoDB
  GET    /health/dependencies the users and events services over HTTP and MongoDB, each
                              "ok" or "unavailable" (with the reason); 200 when users and
                              events answer (the database may be down), else 503
  GET    /transactions        list, newest first (?user_id=U to filter, ?limit=N, 1..1000, default 100)
  POST   /transactions        {"user_id": str, "amount": number or decimal string,
                               "currency": 3 letters (default "EUR"), "description": str (optional)}
                              -> 201 with the stored transaction
  GET    /transactions/<id>   one transaction, or 404
Amounts are stored as Decimal128 (exact) and returned as decimal strings,
e.g. "12.50".  Transactions are not deleted.  Bad input answers 400; when
MongoDB cannot be reached the data endpoints answer 503
{"error": "database_unavailable", ...}.

Run: python3 app.py (Flask's built-in server on HOST:PORT), or in production
gunicorn --workers 2 app:app (gunicorn binds 0.0.0.0:$PORT when PORT is set).
"""


import functools
import os
import signal
import sys
import threading
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

SERVICE = "transactions"
COLLECTION = "transactions"
MONGO_URI = os.environ.get("MONGO_URI", "mongodb://mongo:27017/" + SERVICE)
MONGO_TIMEOUT_MS = int(os.environ.get("MONGO_TIMEOUT_MS", "2000"))
MAX_LIMIT = 1000

app = Flask(__name__)
# keep {"status": "ok", "service": ...} in this order
if hasattr(app, "json") and hasattr(app.json, "sort_keys"):  # Flask >= 2.2
    app.json.sort_keys = False
else:
    app.config["JSON_SORT_KEYS"] = False

_client = None
_client_lock = threading.Lock()


def collection():
    """The MongoDB collection; the client is made on first use, lazily.

    pymongo is imported here, not at module level, and the client is created
    with connect=False: /health and startup never need the driver or a
    reachable database.
    """
    global _client
    with _client_lock:
        if _client is None:
            from pymongo import MongoClient

            _client = MongoClient(
                MONGO_URI,
                connect=False,
                serverSelectionTimeoutMS=MONGO_TIMEOUT_MS,
                connectTimeoutMS=MONGO_TIMEOUT_MS,
                socketTimeoutMS=max(MONGO_TIMEOUT_MS, 5000),
            )
    return _client.get_default_database(default=SERVICE)[COLLECTION]


def error(status, code, message):
    return jsonify({"error": code, "message": message}), status


def uses_db(fn):
    """Turn driver errors (no server, bad URI, ...) into 503 JSON answers."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except HTTPException:
            raise
        except ImportError as e:
            return error(503, "database_unavailable", "MongoDB driver missing: %s" % e)
        except Exception as e:  # pymongo is imported lazily, so test the type here
            try:
                from pymongo.errors import PyMongoError
            except ImportError:
                raise e
            if isinstance(e, PyMongoError):  # details go to the log only
                app.logger.warning("MongoDB error: %s: %s", type(e).__name__, e)
                return error(503, "database_unavailable", "MongoDB is unavailable (%s)" % type(e).__name__)
            raise

    return wrapper


def object_id(text):
    """The ObjectId for a path id, or None when it is not a valid one."""
    from bson import ObjectId
    from bson.errors import InvalidId

    try:
        return ObjectId(text)
    except (InvalidId, TypeError):
        return None


def to_json(doc):
    out = {}
    for key, value in doc.items():
        if key == "_id":
            out["id"] = str(value)
        elif isinstance(value, datetime):
            if value.tzinfo is None:  # MongoDB returns naive UTC datetimes
                value = value.replace(tzinfo=timezone.utc)
            out[key] = value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        else:
            out[key] = value
    return out


def utc_now():
    """Now, in milliseconds: what MongoDB keeps of a datetime."""
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def json_body():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return None
    return body


def list_limit():
    raw = request.args.get("limit", "100")
    try:
        limit = int(raw)
    except ValueError:
        return None
    return limit if 1 <= limit <= MAX_LIMIT else None


@app.errorhandler(HTTPException)
def http_error(e):
    return error(e.code, e.name.lower().replace(" ", "_"), e.description)


@app.errorhandler(Exception)
def internal_error(e):
    app.logger.exception("unhandled error")
    return error(500, "internal_error", "internal server error")


@app.get("/health")
def health():
    return jsonify({"status": "ok", "service": SERVICE})


USERS_URL = os.environ.get("USERS_URL", "http://users:5000").rstrip("/")
EVENTS_URL = os.environ.get("EVENTS_URL", "http://events:5000").rstrip("/")


def service_status(base, name):
    """GET base/health of another service: "ok" when it answers as that service."""
    import json as jsonlib
    import urllib.request

    try:
        with urllib.request.urlopen(base + "/health", timeout=MONGO_TIMEOUT_MS / 1000) as r:
            body = jsonlib.loads(r.read().decode())
        if body.get("service") == name and body.get("status") == "ok":
            return {"status": "ok", "url": base}
        return {"status": "unavailable", "url": base, "reason": "unexpected answer"}
    except Exception as e:  # any failure to reach it is reported, never raised
        return {"status": "unavailable", "url": base, "reason": type(e).__name__}


def database_status():
    try:
        collection().database.client.admin.command("ping")
        return {"status": "ok"}
    except Exception as e:
        return {"status": "unavailable", "reason": type(e).__name__}


@app.get("/health/dependencies")
def health_dependencies():
    deps = {"users": service_status(USERS_URL, "users"), "events": service_status(EVENTS_URL, "events"),
            "database": database_status()}
    ok = deps["users"]["status"] == "ok" and deps["events"]["status"] == "ok"
    return jsonify({"service": SERVICE, "dependencies": deps}), 200 if ok else 503


# ---- transactions ----------------------------------------------------------

MAX_AMOUNT = Decimal("1000000000")


def parse_amount(value):
    """A finite, non-zero Decimal with at most 2 decimals, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount == 0 or abs(amount) >= MAX_AMOUNT:
        return None
    if amount != amount.quantize(Decimal("0.01")):
        return None
    return amount.quantize(Decimal("0.01"))


def validate_transaction(body):
    """(document, None) or (None, message)."""
    if body is None:
        return None, "body must be a JSON object"
    user_id = body.get("user_id")
    currency = body.get("currency", "EUR")
    description = body.get("description")
    if not isinstance(user_id, str) or not user_id:
        return None, "'user_id' must be a non-empty string"
    amount = parse_amount(body.get("amount"))
    if amount is None:
        return None, "'amount' must be a non-zero number with at most 2 decimals, below 1e9"
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        return None, "'currency' must be a 3-letter code"
    if description is not None and (not isinstance(description, str) or len(description) > 500):
        return None, "'description' must be a string of at most 500 characters"
    from bson.decimal128 import Decimal128

    doc = {"user_id": user_id, "amount": Decimal128(amount), "currency": currency.upper()}
    if description is not None:
        doc["description"] = description
    return doc, None


def tx_json(doc):
    out = to_json(doc)
    amount = out.get("amount")
    if amount is not None and hasattr(amount, "to_decimal"):  # Decimal128
        out["amount"] = str(amount.to_decimal())
    elif amount is not None:
        out["amount"] = str(amount)
    return out


@app.get("/transactions")
@uses_db
def list_transactions():
    limit = list_limit()
    if limit is None:
        return error(400, "bad_request", "'limit' must be an integer in 1..%d" % MAX_LIMIT)
    query = {}
    if request.args.get("user_id"):
        query["user_id"] = request.args["user_id"]
    docs = collection().find(query).sort("_id", -1).limit(limit)
    return jsonify([tx_json(d) for d in docs])


@app.post("/transactions")
@uses_db
def create_transaction():
    doc, problem = validate_transaction(json_body())
    if problem:
        return error(400, "bad_request", problem)
    doc["created_at"] = utc_now()
    result = collection().insert_one(doc)
    doc["_id"] = result.inserted_id
    return jsonify(tx_json(doc)), 201


@app.get("/transactions/<tx_id>")
@uses_db
def get_transaction(tx_id):
    oid = object_id(tx_id)
    doc = collection().find_one({"_id": oid}) if oid else None
    if doc is None:
        return error(404, "not_found", "no transaction %s" % tx_id)
    return jsonify(tx_json(doc))


def main():
    # As PID 1 in a container SIGTERM has no default action: exit on it.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    host = os.environ.get("HOST", "0.0.0.0")
    port = int(os.environ.get("PORT", "5000"))
    app.run(host=host, port=port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
