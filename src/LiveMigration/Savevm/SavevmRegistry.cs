using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace LiveMigration.Savevm;

/// <summary>
/// The sections taking part in one side of a migration, keyed by (idstr, instance id). Registration order is the
/// order sections are sent in, and each handler's section id is its position in that order, counted from 1.
/// </summary>
/// <remarks>
/// Register every handler before a migration starts; the registry is not safe for concurrent changes.
/// A destination registers the same (idstr, instance id) pairs as the source, each with the newest
/// version it can load.
/// </remarks>
/// <typeparam name="TSection">The sending side (<see cref="ISectionSaver"/>) or the receiving side (<see cref="ISectionLoader"/>).</typeparam>
internal sealed class SavevmRegistry<TSection>
    where TSection : class, ISavevmSection
{
    private readonly List<SavevmEntry<TSection>> _entries = [];
    private readonly List<TSection> _handlers = [];
    private readonly Dictionary<(string IdStr, uint InstanceId), SavevmEntry<TSection>> _byKey = [];

    /// <summary>The number of registered handlers.</summary>
    public int Count => _entries.Count;

    /// <summary>The registered handlers in registration (and send) order.</summary>
    public IReadOnlyList<TSection> Handlers => _handlers;

    /// <summary>Entries in registration order, with their section ids.</summary>
    internal List<SavevmEntry<TSection>> Entries => _entries;

    /// <summary>Adds a handler; it is sent after every handler registered before it.</summary>
    /// <param name="handler">The handler; its <see cref="ISavevmSection.IdStr"/> must fit a str8.</param>
    /// <exception cref="ArgumentException">
    /// The idstr is empty or longer than 255 bytes of UTF-8, or a handler with the same idstr and
    /// instance id is already registered.
    /// </exception>
    public void Register(TSection handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        string idStr = handler.IdStr;
        if (string.IsNullOrEmpty(idStr))
            throw new ArgumentException("A savevm handler needs a non-empty idstr.", nameof(handler));
        if (Encoding.UTF8.GetByteCount(idStr) > SavevmFormat.MaxIdStrLength)
            throw new ArgumentException($"The idstr '{idStr}' is longer than {SavevmFormat.MaxIdStrLength} bytes of UTF-8.", nameof(handler));

        var key = (idStr, handler.InstanceId);
        if (_byKey.ContainsKey(key))
            throw new ArgumentException($"A savevm handler for '{idStr}' instance {handler.InstanceId} is already registered.", nameof(handler));

        // Ids count from 1: a QEMU 7.2 destination finds PART and END sections by comparing their id with
        // the id each of its handlers was last loaded under, which is 0 for every handler not loaded yet,
        // so a section id of 0 would be taken for its first registered device (the timer).
        var entry = new SavevmEntry<TSection>(handler, (uint)_entries.Count + 1);
        _byKey.Add(key, entry);
        _entries.Add(entry);
        _handlers.Add(handler);
    }

    /// <summary>Finds the handler registered for (<paramref name="idStr"/>, <paramref name="instanceId"/>).</summary>
    /// <returns>True when one is registered.</returns>
    public bool TryGetHandler(string idStr, uint instanceId, [NotNullWhen(true)] out TSection? handler)
    {
        bool found = TryGetEntry(idStr, instanceId, out SavevmEntry<TSection>? entry);
        handler = entry?.Handler;
        return found;
    }

    /// <summary>Finds the entry registered for (<paramref name="idStr"/>, <paramref name="instanceId"/>).</summary>
    internal bool TryGetEntry(string idStr, uint instanceId, [NotNullWhen(true)] out SavevmEntry<TSection>? entry)
    {
        ArgumentNullException.ThrowIfNull(idStr);
        return _byKey.TryGetValue((idStr, instanceId), out entry);
    }
}
