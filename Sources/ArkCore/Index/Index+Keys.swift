import Foundation
import GRDB

/// Fingerprints of the keys a store was written with (table `store_keys`, see `StoreKeys`).
extension Index {
    package enum KeyName: String, Sendable {
        /// This node's endpoint id (the package half of node.key).
        case node
        /// The block tag key's `BlockTagger.fingerprint`.
        case tags
    }

    package func keyFingerprint(_ name: KeyName) throws -> [UInt8]? {
        try read { db in
            try Data.fetchOne(db, sql: "SELECT fingerprint FROM store_keys WHERE name = ?", arguments: [name.rawValue]).map { [UInt8]($0) }
        }
    }

    func recordKeyFingerprint(_ name: KeyName, _ fingerprint: [UInt8]) throws {
        try write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO store_keys (name, fingerprint) VALUES (?, ?)",
                arguments: [name.rawValue, Data(fingerprint)])
        }
    }

    /// Records a new tag key and drops every tag made with another one, in one transaction;
    /// returns how many chunks lost their tags.
    func replaceTagKey(_ fingerprint: [UInt8]) throws -> Int {
        try write { db in
            try db.execute(sql: "DELETE FROM chunk_tags")
            let dropped = db.changesCount
            try db.execute(
                sql: "INSERT OR REPLACE INTO store_keys (name, fingerprint) VALUES (?, ?)",
                arguments: [KeyName.tags.rawValue, Data(fingerprint)])
            return dropped
        }
    }

    /// Whether anything was ever recorded in this index: objects, commits or heads.
    func holdsData() throws -> Bool {
        try read { db in
            try Bool.fetchOne(
                db,
                sql: """
                    SELECT EXISTS (SELECT 1 FROM objects) OR EXISTS (SELECT 1 FROM commits) OR EXISTS (SELECT 1 FROM heads)
                    """) ?? false
        }
    }
}
