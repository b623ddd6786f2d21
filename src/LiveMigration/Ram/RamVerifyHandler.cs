using System.Text;
using System.Text.Json;
using LiveMigration.Errors;
using LiveMigration.Hosting;
using LiveMigration.Savevm;
using LiveMigration.Streams;

namespace LiveMigration.Ram;

/// <summary>
/// The verify section (the verify capability, <c>MigrationOptions.Verify</c>, beyond QEMU): a FULL section sent
/// after the RAM section's END, carrying per block the digest of every page's last sent content. The
/// destination compares it with the digest of what it applied before the guest may start.
/// </summary>
/// <remarks>
/// Payload: <c>be32 block count</c>, then per block <c>str8 idstr, be64 page count, be64 digest</c>.
/// A QEMU destination does not know this section and rejects the stream, so it is opt-in on both ends.
/// The trailer describes the payload field by field, so a tool that decodes sections with the trailer
/// (the inspector) reads it like any device state.
/// </remarks>
internal sealed class RamVerifyHandler(IReadOnlyList<RamBlock> blocks, RamPageDigests digests) : ISectionSaver, ISectionLoader, IDescribedHandler
{
    /// <summary>The section's idstr; a name QEMU never uses.</summary>
    public const string SectionIdStr = "livemigration/ram-verify";

    private bool _verified;

    public string IdStr => SectionIdStr;

    public uint InstanceId => 0;

    public uint VersionId => 1;

    public bool IsLive => false;

    public ValueTask SaveCompleteAsync(MigrationWriter writer, CancellationToken cancellationToken)
    {
        writer.WriteBE32((uint)blocks.Count);
        for (int b = 0; b < blocks.Count; b++)
        {
            writer.WriteStr8(blocks[b].Name);
            writer.WriteBE64((ulong)blocks[b].PageCount);
            writer.WriteBE64(digests.BlockDigest(b));
        }

        return ValueTask.CompletedTask;
    }

    public async ValueTask LoadAsync(MigrationReader reader, SectionType sectionType, uint versionId, CancellationToken cancellationToken)
    {
        long offset = reader.BytesRead;
        uint count = await reader.ReadBE32Async(cancellationToken).ConfigureAwait(false);
        // Checked before anything is read for it: the count comes from the wire.
        if (count != blocks.Count)
            throw new MigrationStreamException($"The verify section lists {count} RAM blocks; this destination has {blocks.Count}", offset);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var mismatched = new List<string>();
        for (int i = 0; i < count; i++)
        {
            long entry = reader.BytesRead;
            string name = await reader.ReadStr8Async(cancellationToken: cancellationToken).ConfigureAwait(false);
            await reader.EnsureAsync(16, cancellationToken).ConfigureAwait(false);
            ulong pages = reader.ReadBE64();
            ulong expected = reader.ReadBE64();
            int index = IndexOf(name);
            if (index < 0 || !seen.Add(name))
                throw new MigrationStreamException($"The verify section names RAM block '{StreamText.Escape(name)}', unknown here or listed twice", entry);
            if (pages != (ulong)blocks[index].PageCount)
                throw new MigrationStreamException($"The verify section gives RAM block '{StreamText.Escape(name)}' {pages} pages; this destination has {blocks[index].PageCount}", entry);
            if (digests.BlockDigest(index) != expected)
                mismatched.Add(name);
        }

        if (mismatched.Count > 0)
        {
            throw new MigrationVerificationException(
                $"Verification failed: the RAM loaded into block(s) {string.Join(", ", mismatched.Select(n => $"'{n}'"))} differs from what the source sent; the guest was not started");
        }

        _verified = true;
    }

    /// <summary>
    /// Describes the payload as it is written: the block count, then per block (told apart by <c>index</c>) the
    /// idstr's length byte and bytes, the page count and the digest. The idstrs are fixed, so the sizes are exact.
    /// </summary>
    public void Describe(Utf8JsonWriter json)
    {
        json.WriteString("vmsd_name", SectionIdStr);
        json.WriteNumber("version", VersionId);
        json.WriteStartArray("fields");
        Entry(json, "blocks", null, "uint32", 4);
        for (int b = 0; b < blocks.Count; b++)
        {
            Entry(json, "idstr_len", b, "uint8", 1);
            Entry(json, "idstr", b, "buffer", Encoding.UTF8.GetByteCount(blocks[b].Name));
            Entry(json, "pages", b, "uint64", 8);
            Entry(json, "digest", b, "uint64", 8);
        }

        json.WriteEndArray();
    }

    public ValueTask LoadCompleteAsync(CancellationToken cancellationToken)
    {
        if (!_verified)
            throw new MigrationVerificationException("The verify capability is on at this destination, but the source sent no verify section: turn the capability on at the source too, or off here");
        return ValueTask.CompletedTask;
    }

    private static void Entry(Utf8JsonWriter json, string name, int? index, string type, int size)
    {
        json.WriteStartObject();
        json.WriteString("name", name);
        if (index is { } i)
            json.WriteNumber("index", i);
        json.WriteString("type", type);
        json.WriteNumber("size", size);
        json.WriteEndObject();
    }

    private int IndexOf(string name)
    {
        for (int b = 0; b < blocks.Count; b++)
        {
            if (string.Equals(blocks[b].Name, name, StringComparison.Ordinal))
                return b;
        }

        return -1;
    }
}
