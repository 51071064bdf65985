import Foundation
import GRDB

extension ObjectID: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { withBytes { Data($0) }.databaseValue }

    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> ObjectID? {
        guard let data = Data.fromDatabaseValue(dbValue), data.count == 32 else { return nil }
        return data.withUnsafeBytes { ObjectID(unsafeBytes: $0) }
    }
}
