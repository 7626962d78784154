import ArgumentParser
import Foundation
import BankSyncCore
import BankSyncStore

/// `banksync tenants …`: the applications that use this BankSync.
struct TenantsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenants", abstract: "Manage tenants (the applications using the API).", subcommands: [Create.self, List.self])

    /// A new tenant and its first API key.
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a tenant and its first API key (printed once).")

        @Option(help: "The tenant's name.") var name: String

        func run() async throws {
            let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty, trimmed.count <= 200 else { throw Bootstrap.fail("--name must be 1 to 200 characters") }
            try await Bootstrap.withStore { store in
                let tenant = try await store.tenants.create(name: trimmed)
                let (key, secret) = try await store.tenants.createAPIKey(tenantID: tenant.id, name: "default")
                print("tenant \(tenant.id) (\(tenant.name))\nAPI key \(key.id):\n\(secret)\nKeep it: only its hash is stored (banksync keys create makes more).")
            }
        }
    }

    /// Every tenant.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tenants.")

        func run() async throws {
            try await Bootstrap.withStore { store in
                for tenant in try await store.tenants.list() { print("\(tenant.id)  \(tenant.name)  created \(tenant.createdAt)") }
            }
        }
    }
}
